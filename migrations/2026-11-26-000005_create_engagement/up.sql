-- Engagement: reactions, favorites, ratings, threaded comments with likes, and notifications. Every counter a list
-- page shows is kept on its row by the triggers below, in the writing transaction, so lists never aggregate.

ALTER TABLE movies
    ADD COLUMN likes          INTEGER NOT NULL DEFAULT 0 CHECK (likes >= 0),
    ADD COLUMN dislikes       INTEGER NOT NULL DEFAULT 0 CHECK (dislikes >= 0),
    ADD COLUMN favorites      INTEGER NOT NULL DEFAULT 0 CHECK (favorites >= 0),
    ADD COLUMN ratings_count  INTEGER NOT NULL DEFAULT 0 CHECK (ratings_count >= 0),
    ADD COLUMN ratings_sum    INTEGER NOT NULL DEFAULT 0 CHECK (ratings_sum >= 0),
    -- 0 while unrated (the API shows null), so "best rated first" puts unrated movies last.
    ADD COLUMN rating         DOUBLE PRECISION NOT NULL DEFAULT 0,
    ADD COLUMN comments_count INTEGER NOT NULL DEFAULT 0 CHECK (comments_count >= 0);
CREATE INDEX movies_likes_idx ON movies (likes, id);
CREATE INDEX movies_rating_idx ON movies (rating, id);

-- Genre sizes for the genre list, kept per link statement.
ALTER TABLE genres ADD COLUMN movies_count INTEGER NOT NULL DEFAULT 0 CHECK (movies_count >= 0);

CREATE FUNCTION genres_count_links() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE genres g SET movies_count = g.movies_count + c.n
        FROM (SELECT genre_id, count(*) AS n FROM changed GROUP BY genre_id) c WHERE g.id = c.genre_id;
    ELSE
        UPDATE genres g SET movies_count = g.movies_count - c.n
        FROM (SELECT genre_id, count(*) AS n FROM changed GROUP BY genre_id) c WHERE g.id = c.genre_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER movies_genres_count_insert AFTER INSERT ON movies_genres REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION genres_count_links();
CREATE TRIGGER movies_genres_count_delete AFTER DELETE ON movies_genres REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION genres_count_links();

-- One reaction per user and movie; switching is an update of `kind`.
CREATE TABLE movie_reactions (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    movie_id   INTEGER NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('like', 'dislike')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, movie_id)
);
CREATE INDEX movie_reactions_movie_idx ON movie_reactions (movie_id);

CREATE FUNCTION movie_reactions_count() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE movies SET likes = likes - (OLD.kind = 'like')::int, dislikes = dislikes - (OLD.kind = 'dislike')::int
        WHERE id = OLD.movie_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE movies SET likes = likes + (NEW.kind = 'like')::int, dislikes = dislikes + (NEW.kind = 'dislike')::int
        WHERE id = NEW.movie_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER movie_reactions_count AFTER INSERT OR UPDATE OR DELETE ON movie_reactions
    FOR EACH ROW EXECUTE FUNCTION movie_reactions_count();

CREATE TABLE favorites (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    movie_id   INTEGER NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, movie_id)
);
CREATE INDEX favorites_movie_idx ON favorites (movie_id);

CREATE FUNCTION favorites_count() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE movies SET favorites = favorites + 1 WHERE id = NEW.movie_id;
    ELSE
        UPDATE movies SET favorites = favorites - 1 WHERE id = OLD.movie_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER favorites_count AFTER INSERT OR DELETE ON favorites
    FOR EACH ROW EXECUTE FUNCTION favorites_count();

CREATE TABLE ratings (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    movie_id   INTEGER NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    score      SMALLINT NOT NULL CHECK (score BETWEEN 1 AND 10),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, movie_id)
);
CREATE INDEX ratings_movie_idx ON ratings (movie_id);

CREATE FUNCTION ratings_count() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    target INTEGER := CASE WHEN TG_OP = 'DELETE' THEN OLD.movie_id ELSE NEW.movie_id END;
    d_count INTEGER := CASE TG_OP WHEN 'INSERT' THEN 1 WHEN 'DELETE' THEN -1 ELSE 0 END;
    d_sum INTEGER := CASE TG_OP WHEN 'INSERT' THEN NEW.score WHEN 'DELETE' THEN -OLD.score
                     ELSE NEW.score - OLD.score END;
BEGIN
    UPDATE movies SET ratings_count = ratings_count + d_count, ratings_sum = ratings_sum + d_sum,
        rating = CASE WHEN ratings_count + d_count = 0 THEN 0
                      ELSE (ratings_sum + d_sum)::double precision / (ratings_count + d_count) END
    WHERE id = target;
    RETURN NULL;
END $$;
CREATE TRIGGER ratings_count AFTER INSERT OR UPDATE OF score OR DELETE ON ratings
    FOR EACH ROW EXECUTE FUNCTION ratings_count();

-- Comments form a tree per movie: `parent_id` points at the comment answered. Deleting a comment deletes its
-- replies (a thread without its root would read out of context).
CREATE TABLE comments (
    id            INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    movie_id      INTEGER NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id     INTEGER REFERENCES comments (id) ON DELETE CASCADE,
    body          TEXT NOT NULL CHECK (btrim(body) <> '' AND char_length(body) <= 2000),
    likes         INTEGER NOT NULL DEFAULT 0 CHECK (likes >= 0),
    replies_count INTEGER NOT NULL DEFAULT 0 CHECK (replies_count >= 0),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Top-level comments of a movie and replies of a comment, newest first.
CREATE INDEX comments_movie_top_idx ON comments (movie_id, id) WHERE parent_id IS NULL;
CREATE INDEX comments_parent_idx ON comments (parent_id, id);
CREATE INDEX comments_user_idx ON comments (user_id);

CREATE FUNCTION comments_count() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE movies SET comments_count = comments_count + 1 WHERE id = NEW.movie_id;
        IF NEW.parent_id IS NOT NULL THEN
            UPDATE comments SET replies_count = replies_count + 1 WHERE id = NEW.parent_id;
        END IF;
    ELSE
        -- A cascade from a deleted movie finds no movie row; a cascade from a deleted parent finds no parent.
        UPDATE movies SET comments_count = comments_count - 1 WHERE id = OLD.movie_id;
        IF OLD.parent_id IS NOT NULL THEN
            UPDATE comments SET replies_count = replies_count - 1 WHERE id = OLD.parent_id;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER comments_count AFTER INSERT OR DELETE ON comments
    FOR EACH ROW EXECUTE FUNCTION comments_count();

CREATE TABLE comment_likes (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    comment_id INTEGER NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, comment_id)
);
CREATE INDEX comment_likes_comment_idx ON comment_likes (comment_id);

CREATE FUNCTION comment_likes_count() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE comments SET likes = likes + 1 WHERE id = NEW.comment_id;
    ELSE
        UPDATE comments SET likes = likes - 1 WHERE id = OLD.comment_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER comment_likes_count AFTER INSERT OR DELETE ON comment_likes
    FOR EACH ROW EXECUTE FUNCTION comment_likes_count();

-- In-app notifications: someone replied to or liked the recipient's comment.
CREATE TABLE notifications (
    id         INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('comment_reply', 'comment_like')),
    actor_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    movie_id   INTEGER NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    comment_id INTEGER REFERENCES comments (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    read_at    TIMESTAMPTZ
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id);
CREATE INDEX notifications_unread_idx ON notifications (user_id, id) WHERE read_at IS NULL;
