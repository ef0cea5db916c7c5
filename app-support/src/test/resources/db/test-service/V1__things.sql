-- A service's own table, for ServiceSchemaTest.
CREATE TABLE things (id bigint PRIMARY KEY);
