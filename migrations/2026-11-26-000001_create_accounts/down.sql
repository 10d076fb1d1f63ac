DROP TABLE refresh_tokens;
DROP TABLE password_reset_tokens;
DROP TABLE activation_tokens;
DROP TABLE user_profiles;
DROP TABLE users;
DROP TABLE user_groups;
