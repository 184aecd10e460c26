-- A customer changes their email through a link mailed to the new address: the token carries the
-- address it confirms.
ALTER TABLE email_tokens ADD COLUMN new_email TEXT;
ALTER TABLE email_tokens DROP CONSTRAINT email_tokens_purpose_check;
ALTER TABLE email_tokens ADD CONSTRAINT email_tokens_purpose_check
    CHECK (purpose IN ('verify_email', 'reset_password', 'change_email'));
ALTER TABLE email_tokens ADD CONSTRAINT email_tokens_new_email_check
    CHECK ((purpose = 'change_email') = (new_email IS NOT NULL));
