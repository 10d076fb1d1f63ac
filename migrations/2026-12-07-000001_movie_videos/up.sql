-- Videos of movies: each upload is a version. A version is queued when uploaded, processing while a media worker
-- encodes it, then ready (its HLS renditions are in storage under videos/<movie_id>/v<id>/) or failed (with the
-- reason). A movie plays its newest ready version; an older ready version is superseded when a newer one becomes
-- ready and stays playable (for signed URLs already handed out) until the purge removes it.
CREATE TABLE movie_videos (
    id SERIAL PRIMARY KEY,
    movie_id INTEGER NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
    -- The uploaded file, kept until the version is ready or failed.
    source_key TEXT NOT NULL,
    source_bytes BIGINT NOT NULL CHECK (source_bytes >= 0),
    duration_seconds DOUBLE PRECISION,
    -- [{"name": "720p", "width": 1280, "height": 720, "bandwidth": 2896000}, ...], lowest first.
    renditions JSONB NOT NULL DEFAULT '[]',
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    ready_at TIMESTAMPTZ,
    superseded_at TIMESTAMPTZ
);

-- The newest version of a movie, and its newest ready one (detail, stream).
CREATE INDEX movie_videos_movie_id_id ON movie_videos (movie_id, id DESC);
-- The purge of superseded versions.
CREATE INDEX movie_videos_superseded_at ON movie_videos (superseded_at) WHERE superseded_at IS NOT NULL;

-- Where each viewer stopped in each movie ("continue watching").
CREATE TABLE watch_progress (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    movie_id INTEGER NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    position_seconds DOUBLE PRECISION NOT NULL CHECK (position_seconds >= 0),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, movie_id)
);
