DROP TABLE IF EXISTS enrollment_payments, enrollments, workshops;
