DROP TABLE newsletter_recipients;
DROP TABLE newsletters;
