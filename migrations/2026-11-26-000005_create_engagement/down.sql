DROP TABLE notifications;
DROP TABLE comment_likes;
DROP TABLE comments;
DROP TABLE ratings;
DROP TABLE favorites;
DROP TABLE movie_reactions;
DROP FUNCTION comment_likes_count();
DROP FUNCTION comments_count();
DROP FUNCTION ratings_count();
DROP FUNCTION favorites_count();
DROP FUNCTION movie_reactions_count();
DROP TRIGGER movies_genres_count_insert ON movies_genres;
DROP TRIGGER movies_genres_count_delete ON movies_genres;
DROP FUNCTION genres_count_links();
ALTER TABLE genres DROP COLUMN movies_count;
DROP INDEX movies_likes_idx;
DROP INDEX movies_rating_idx;
ALTER TABLE movies
    DROP COLUMN likes, DROP COLUMN dislikes, DROP COLUMN favorites, DROP COLUMN ratings_count,
    DROP COLUMN ratings_sum, DROP COLUMN rating, DROP COLUMN comments_count;
