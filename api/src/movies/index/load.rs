//! Reads the catalog into a [`Snapshot`]: the movies in name order (their position is the name's rank under the
//! database's collation), then the genre links, both streamed (a million movies never sit in memory twice) and
//! both in one repeatable-read transaction, so they describe the same moment.

use std::collections::HashMap;

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryStreamExt;
use shared::schema::{genres, movies, movies_genres};

use super::snapshot::{Entry, Snapshot};
use crate::error::ApiError;
use crate::money::Price;

/// Genres beyond this many would not fit a movie's bit set; such a catalog is left to SQL.
pub const MAX_GENRES: usize = 64;

type Row = (i32, i32, f64, BigDecimal, i32, i32, DateTime<Utc>);

fn entry((id, year, imdb, price, votes, certification, created_at): Row, name_rank: u32) -> Result<Entry, ApiError> {
    let cents =
        Price::from(price).cents().ok_or_else(|| ApiError::internal(format!("movie {id}: price out of range")))?;
    Ok(Entry {
        id,
        year,
        certification,
        votes,
        name_rank,
        // -0 and 0 are equal in SQL; one value keeps `total_cmp` in step with it.
        imdb: if imdb == 0.0 { 0.0 } else { imdb },
        price: cents,
        created: created_at.timestamp_micros(),
        genres: 0,
    })
}

/// The catalog as it is now, or `None` when it has more genres than a bit set holds.
pub async fn load(conn: &mut AsyncPgConnection) -> Result<Option<Snapshot>, ApiError> {
    let entries = conn
        .build_transaction()
        .read_only()
        .repeatable_read()
        .run::<_, ApiError, _>(|conn| async move { read(conn).await }.scope_boxed())
        .await?;
    let Some((entries, genre_bits)) = entries else { return Ok(None) };
    Ok(Some(off_runtime(move || Snapshot::new(entries, genre_bits)).await?))
}

/// Sorting a million entries takes tens of milliseconds: off the async workers.
async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)
}

/// The entries with their genres and the genres' bits, or `None` when the genres are too many.
async fn read(conn: &mut AsyncPgConnection) -> Result<Option<(Vec<Entry>, HashMap<i32, u64>)>, ApiError> {
    let genre_ids: Vec<i32> = genres::table.select(genres::id).order(genres::id).load(conn).await?;
    if genre_ids.len() > MAX_GENRES {
        return Ok(None);
    }
    let bits: HashMap<i32, u64> =
        genre_ids.iter().zip(0u32..).map(|(id, n)| (*id, 1u64.checked_shl(n).unwrap_or(0))).collect();
    let mut entries = Vec::new();
    let mut rows = movies::table
        .order(movies::name.asc())
        .select((
            movies::id,
            movies::year,
            movies::imdb,
            movies::price,
            movies::votes,
            movies::certification_id,
            movies::created_at,
        ))
        .load_stream::<Row>(conn)
        .await?;
    let mut rank: u32 = 0;
    while let Some(row) = rows.try_next().await? {
        entries.push(entry(row, rank)?);
        rank = rank.saturating_add(1);
    }
    drop(rows);
    // By id, so each link finds its movie by binary search.
    let mut entries = off_runtime(move || {
        entries.sort_unstable_by_key(|entry| entry.id);
        entries
    })
    .await?;
    let mut links = movies_genres::table
        .select((movies_genres::movie_id, movies_genres::genre_id))
        .load_stream::<(i32, i32)>(conn)
        .await?;
    while let Some((movie, genre)) = links.try_next().await? {
        if let (Some(bit), Ok(at)) = (bits.get(&genre), entries.binary_search_by_key(&movie, |entry| entry.id))
            && let Some(entry) = entries.get_mut(at)
        {
            entry.genres |= bit;
        }
    }
    drop(links);
    Ok(Some((entries, bits)))
}
