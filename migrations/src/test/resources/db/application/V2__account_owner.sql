ALTER TABLE accounts ADD COLUMN owner text;
