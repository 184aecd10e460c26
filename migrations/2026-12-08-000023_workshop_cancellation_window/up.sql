-- A workshop's rule for its customers: they may cancel their own unpaid enrollment until this
-- many hours before it starts (staff may cancel any enrollment at any time).
ALTER TABLE workshops ADD COLUMN cancellation_hours INTEGER NOT NULL DEFAULT 24
    CONSTRAINT workshops_cancellation_hours_check CHECK (cancellation_hours BETWEEN 0 AND 720);
