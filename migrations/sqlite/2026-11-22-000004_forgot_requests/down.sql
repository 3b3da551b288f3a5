DROP TABLE forgot_requests;
