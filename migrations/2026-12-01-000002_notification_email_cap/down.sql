-- The tokens scrubbed by up.sql stay scrubbed.
SELECT 1;
