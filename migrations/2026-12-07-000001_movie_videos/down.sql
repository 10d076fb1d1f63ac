DROP TABLE watch_progress;
DROP TABLE movie_videos;
