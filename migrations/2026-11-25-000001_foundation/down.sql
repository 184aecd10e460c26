DROP TABLE client_interests;
DROP TABLE clients;
DROP TABLE interests;
DROP TABLE companies;
