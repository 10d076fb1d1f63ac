-- The generated search document is never NULL (to_tsvector of a NOT NULL column), and shared/src/schema.rs has always
-- declared it so; the catalog said nullable, which the schema drift check (deploy/test.sh) reports. Say it here too.
ALTER TABLE movies ALTER COLUMN search_vector SET NOT NULL;
