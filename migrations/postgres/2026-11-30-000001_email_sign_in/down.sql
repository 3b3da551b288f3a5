DROP TABLE email_sign_ins;
DELETE FROM forgot_requests WHERE purpose <> 'reset';
ALTER TABLE forgot_requests DROP COLUMN stay_signed_in;
ALTER TABLE forgot_requests DROP COLUMN purpose;
