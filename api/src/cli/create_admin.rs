//! `api create-admin --email E`: creates an active admin, or promotes and activates the existing account. The
//! password of a new account comes from `ADMIN_PASSWORD` or a no-echo prompt, never from the command line.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::ApiConfig;
use crate::accounts::domain::{Email, Password};
use crate::admin::bootstrap;
use crate::error::ApiError;

pub async fn run(config: ApiConfig, email: String) -> anyhow::Result<()> {
    let email = Email::parse(&email, &["email"]).map_err(|issue| anyhow::anyhow!("invalid --email: {}", issue.msg))?;
    let mut conn = AsyncPgConnection::establish(&config.database.url())
        .await
        .map_err(|e| anyhow::anyhow!("connecting to the database: {e}"))?;
    let failed = |err: ApiError| anyhow::anyhow!("{err}");
    let outcome = match bootstrap::find_user(&mut conn, &email).await.map_err(failed)? {
        Some(user) => {
            if std::env::var_os("ADMIN_PASSWORD").is_some() {
                eprintln!("note: the account exists, so ADMIN_PASSWORD is ignored");
            }
            bootstrap::promote(&mut conn, &user).await.map_err(failed)?
        }
        None => {
            let raw = tokio::task::spawn_blocking(admin_password).await??;
            let password = Password::parse(&raw, &["password"]).map_err(|issue| {
                anyhow::anyhow!("invalid password: {}", issue.msg.trim_start_matches("Value error, "))
            })?;
            bootstrap::create(&mut conn, &email, &password, config.auth.bcrypt_cost).await.map_err(failed)?
        }
    };
    println!("{}: {outcome}", email.as_str());
    Ok(())
}

/// The new admin's password: `ADMIN_PASSWORD` when set, otherwise typed twice on the terminal without echo.
fn admin_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("ADMIN_PASSWORD") {
        return Ok(password);
    }
    let no_terminal =
        |err: std::io::Error| anyhow::anyhow!("cannot prompt for the password ({err}); set ADMIN_PASSWORD");
    let password = rpassword::prompt_password("Password for the new admin: ").map_err(no_terminal)?;
    let again = rpassword::prompt_password("Repeat the password: ").map_err(no_terminal)?;
    if password != again {
        anyhow::bail!("the passwords differ");
    }
    Ok(password)
}
