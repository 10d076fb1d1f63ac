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
DROP FUNCTION movies_search_before_write();
DROP FUNCTION movie_links_removed();
DROP FUNCTION stars_rename_refresh();
DROP FUNCTION directors_rename_refresh();
DROP FUNCTION refresh_movie_search(INTEGER[]);
DROP FUNCTION movie_search_text(INTEGER, TEXT, TEXT);
