-- pg_trgm stays installed: other migrations may rely on it, and keeping an extension changes no data.
DROP TABLE purchases;
DROP TABLE cart_items;
DROP TABLE carts;
DROP TABLE movies_directors;
DROP TABLE movies_stars;
DROP TABLE movies_genres;
DROP TABLE movies;
DROP TABLE directors;
DROP TABLE stars;
DROP TABLE genres;
DROP TABLE certifications;
