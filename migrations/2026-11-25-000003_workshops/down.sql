DROP TABLE IF EXISTS enrollment_payments, workshop_seats, enrollments, workshops;
