//! `api migrate [--revert-all]`: applies the embedded migrations, or reverts all of them.

use crate::ApiConfig;

pub async fn run(config: ApiConfig, revert_all: bool) -> anyhow::Result<()> {
    let url = config.database.url();
    if revert_all {
        let count = shared::db::revert_all_migrations(&url).await?;
        println!("reverted {count} migrations");
    } else {
        let applied = shared::db::run_migrations(&url).await?;
        if applied.is_empty() {
            println!("database is up to date");
        } else {
            for version in applied {
                println!("applied {version}");
            }
        }
    }
    Ok(())
}
