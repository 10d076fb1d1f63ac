//! Mapping: file records → movies (see the rules in [`super`]), the import's price rule and the reasons a record
//! is skipped. Pure: nothing here touches the database.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "the import command: counts bounded by the records held in memory and small price constants; no request reaches it"
)]

use std::collections::{HashMap, HashSet};

use bigdecimal::BigDecimal;
use chrono::{Datelike, NaiveDate, Utc};
use serde::Deserialize;

use super::{ImportError, ImportReport, Skipped};
use crate::movies::types::{ENTITY_NAME_MAX, MOVIE_NAME_MAX};

/// Running time used when the file has none: the model requires one (documented in the import summary).
pub const DEFAULT_RUNNING_TIME: i32 = 90;
pub const DEFAULT_CERTIFICATION: &str = "Not Rated";

/// A title is text in most records and a number in a few (`1776`, `300`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Title {
    Text(String),
    Number(serde_json::Number),
}

/// One record of the file; unknown keys are ignored, every known key may be null.
#[derive(Debug, Deserialize)]
struct Record {
    #[serde(rename = "Title", default)]
    title: Option<Title>,
    #[serde(rename = "US Gross", default)]
    us_gross: Option<f64>,
    #[serde(rename = "Worldwide Gross", default)]
    worldwide_gross: Option<f64>,
    #[serde(rename = "Release Date", default)]
    release_date: Option<String>,
    #[serde(rename = "MPAA Rating", default)]
    mpaa_rating: Option<String>,
    #[serde(rename = "Running Time min", default)]
    running_time: Option<f64>,
    #[serde(rename = "Distributor", default)]
    distributor: Option<String>,
    #[serde(rename = "Source", default)]
    source: Option<String>,
    #[serde(rename = "Major Genre", default)]
    major_genre: Option<String>,
    #[serde(rename = "Creative Type", default)]
    creative_type: Option<String>,
    #[serde(rename = "Director", default)]
    director: Option<String>,
    #[serde(rename = "IMDB Rating", default)]
    imdb_rating: Option<f64>,
    #[serde(rename = "IMDB Votes", default)]
    imdb_votes: Option<f64>,
}

/// A movie as the file describes it, checked and mapped onto our model.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportMovie {
    /// 1-based record number in the file.
    pub record: usize,
    pub name: String,
    pub year: i32,
    pub time: i32,
    pub imdb: f64,
    pub votes: i32,
    pub gross: Option<f64>,
    pub description: String,
    pub price: BigDecimal,
    pub certification: String,
    pub genres: Vec<String>,
    pub directors: Vec<String>,
}

/// Parses the whole file; the first malformed record stops everything.
pub fn parse(bytes: &[u8]) -> Result<(Vec<ImportMovie>, ImportReport), ImportError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let records: Vec<Record> = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let location = match path.strip_prefix('[').and_then(|rest| rest.split(']').next()) {
            Some(index) => match index.parse::<usize>() {
                Ok(index) => {
                    let field =
                        path.split_once("].").map(|(_, field)| format!(", field `{field}`")).unwrap_or_default();
                    format!("record {}{field}", index + 1)
                }
                Err(_) => path.clone(),
            },
            None => "the top level (expected an array of records)".to_owned(),
        };
        ImportError::Malformed { location, line: inner.line(), column: inner.column(), source: inner }
    })?;
    Ok(map_records(records))
}

fn text(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|value| !value.is_empty()).map(str::to_owned)
}

/// Checks and maps every record, then names titles that occur with several years.
fn map_records(records: Vec<Record>) -> (Vec<ImportMovie>, ImportReport) {
    let mut report = ImportReport { records: records.len(), ..ImportReport::default() };
    let max_year = Utc::now().year() + 1;
    let mut movies: Vec<ImportMovie> = Vec::with_capacity(records.len());
    for (index, record) in records.into_iter().enumerate() {
        let number = index + 1;
        let title = match &record.title {
            Some(Title::Text(title)) => title.trim().to_owned(),
            Some(Title::Number(number)) => number.to_string(),
            None => String::new(),
        };
        let mut skip = |reason: String| report.skipped.push(Skipped { record: number, title: title.clone(), reason });
        if title.is_empty() {
            skip("missing title".into());
            continue;
        }
        if title.chars().count() > MOVIE_NAME_MAX - 7 {
            skip(format!("title too long: more than {} characters", MOVIE_NAME_MAX - 7));
            continue;
        }
        let Some(date) = text(&record.release_date) else {
            skip("missing release date".into());
            continue;
        };
        let Ok(date) = NaiveDate::parse_from_str(&date, "%b %d %Y") else {
            skip(format!("bad release date: {date:?}"));
            continue;
        };
        let year = date.year();
        if year < 1895 || year > max_year {
            skip(format!("bad year: {year} is outside 1895-{max_year}"));
            continue;
        }
        let Some(imdb) = record.imdb_rating else {
            skip("missing IMDb rating".into());
            continue;
        };
        if !(1.0..=10.0).contains(&imdb) {
            skip(format!("bad IMDb rating: {imdb} is outside 1-10"));
            continue;
        }
        let votes = record.imdb_votes.unwrap_or(0.0);
        if !(0.0..=f64::from(i32::MAX)).contains(&votes) {
            skip(format!("bad IMDb votes: {votes}"));
            continue;
        }
        let genre = text(&record.major_genre);
        let director = text(&record.director);
        let certification = text(&record.mpaa_rating).unwrap_or_else(|| DEFAULT_CERTIFICATION.to_owned());
        if [&genre, &director, &Some(certification.clone())]
            .into_iter()
            .flatten()
            .any(|name| name.chars().count() > ENTITY_NAME_MAX)
        {
            skip(format!("name too long: a genre, director or certification exceeds {ENTITY_NAME_MAX} characters"));
            continue;
        }
        let time = match record.running_time {
            Some(minutes) if minutes >= 1.0 && minutes <= f64::from(i32::MAX) => minutes.round() as i32,
            _ => {
                report.defaulted_time += 1;
                DEFAULT_RUNNING_TIME
            }
        };
        let gross = record.worldwide_gross.or(record.us_gross).filter(|gross| *gross >= 0.0);
        let description = [
            text(&record.creative_type).map(|kind| format!("Creative type: {kind}.")),
            text(&record.source).map(|source| format!("Source: {source}.")),
            text(&record.distributor).map(|distributor| format!("Distributor: {distributor}.")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let votes = votes as i32;
        movies.push(ImportMovie {
            record: number,
            name: title.to_lowercase(),
            year,
            time,
            imdb,
            votes,
            gross,
            description,
            price: price_for(year, imdb, votes),
            certification,
            genres: genre.into_iter().collect(),
            directors: director.into_iter().collect(),
        });
    }
    // A title shared by several films (remakes) names each after its year; the same title and year twice is one
    // film listed twice.
    let mut years_by_name: HashMap<String, HashSet<i32>> = HashMap::new();
    for movie in &movies {
        years_by_name.entry(movie.name.clone()).or_default().insert(movie.year);
    }
    let mut seen: HashMap<(String, i32), usize> = HashMap::new();
    let mut unique = Vec::with_capacity(movies.len());
    for mut movie in movies {
        if let Some(first) = seen.get(&(movie.name.clone(), movie.year)) {
            report.skipped.push(Skipped {
                record: movie.record,
                title: movie.name.clone(),
                reason: format!("duplicate: same title and year as record {first}"),
            });
            continue;
        }
        seen.insert((movie.name.clone(), movie.year), movie.record);
        if years_by_name.get(&movie.name).is_some_and(|years| years.len() > 1) {
            movie.name = format!("{} ({})", movie.name, movie.year);
        }
        unique.push(movie);
    }
    (unique, report)
}

/// The import's price rule, in cents so it stays exact: a base by age (a newer film costs more), plus a premium
/// for popular (many IMDb votes) and acclaimed (IMDb ≥ 8) films, minus a discount for poorly rated ones (< 5).
///
/// | release year | base | | IMDb votes | add | | IMDb rating | add |
/// |---|---|---|---|---|---|---|---|
/// | ≥ 2005 | 14.99 | | ≥ 100,000 | 3.00 | | ≥ 8.0 | 2.00 |
/// | 1995–2004 | 11.99 | | ≥ 20,000 | 1.50 | | < 5.0 | −2.00 |
/// | 1980–1994 | 8.99 | | | | | | |
/// | < 1980 | 6.99 | | | | | | |
pub fn price_for(year: i32, imdb: f64, votes: i32) -> BigDecimal {
    let mut cents: i64 = match year {
        2005.. => 1499,
        1995..=2004 => 1199,
        1980..=1994 => 899,
        _ => 699,
    };
    cents += match votes {
        100_000.. => 300,
        20_000..=99_999 => 150,
        _ => 0,
    };
    if imdb >= 8.0 {
        cents += 200;
    } else if imdb < 5.0 {
        cents -= 200;
    }
    BigDecimal::new(cents.into(), 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_rule_is_exact_and_tiered() {
        assert_eq!(price_for(2008, 9.0, 500_000).to_string(), "19.99");
        assert_eq!(price_for(1998, 6.1, 1071).to_string(), "11.99");
        assert_eq!(price_for(1985, 4.0, 25_000).to_string(), "8.49");
        assert_eq!(price_for(1950, 7.0, 10).to_string(), "6.99");
    }

    #[test]
    fn records_are_mapped_checked_and_disambiguated() {
        let file = br#"[
            {"Title": "King Kong", "Release Date": "Mar 02 1933", "IMDB Rating": 8, "IMDB Votes": 50000,
             "Running Time min": 100, "Major Genre": "Adventure", "Director": "Merian C. Cooper", "MPAA Rating": null,
             "Worldwide Gross": null, "US Gross": 10, "Distributor": "RKO", "Source": null, "Creative Type": "Fantasy"},
            {"Title": "King Kong", "Release Date": "Dec 14 2005", "IMDB Rating": 7.5, "IMDB Votes": 150000},
            {"Title": "King Kong", "Release Date": "Dec 14 2005", "IMDB Rating": 7.5, "IMDB Votes": 150000},
            {"Title": 1776, "Release Date": "Nov 09 1972", "IMDB Rating": 7.0},
            {"Title": null, "Release Date": "Nov 09 1972", "IMDB Rating": 7.0},
            {"Title": "No Rating", "Release Date": "Nov 09 1972", "IMDB Rating": null},
            {"Title": "Bad Date", "Release Date": "sometime", "IMDB Rating": 5},
            {"Title": "Far Future", "Release Date": "Jan 01 2999", "IMDB Rating": 5}
        ]"#;
        let (movies, report) = parse(file).unwrap();
        let names: Vec<&str> = movies.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["king kong (1933)", "king kong (2005)", "1776"]);
        let first = &movies[0];
        assert_eq!((first.year, first.time, first.votes, first.gross), (1933, 100, 50000, Some(10.0)));
        assert_eq!(first.certification, "Not Rated");
        assert_eq!(first.description, "Creative type: Fantasy. Distributor: RKO.");
        assert_eq!(
            (first.genres.clone(), first.directors.clone()),
            (vec!["Adventure".into()], vec!["Merian C. Cooper".into()])
        );
        assert_eq!(movies[2].time, DEFAULT_RUNNING_TIME);
        let reasons: Vec<String> = report.skip_summary().into_iter().map(|(reason, _)| reason).collect();
        for reason in ["duplicate", "missing title", "missing IMDb rating", "bad release date", "bad year"] {
            assert!(reasons.contains(&reason.to_owned()), "{reason} in {reasons:?}");
        }
    }

    #[test]
    fn malformed_records_name_their_place() {
        let err = parse(b"[\n{\"Title\": \"A\"},\n{\"Title\": \"B\", \"IMDB Rating\": \"high\"}\n]").unwrap_err();
        match err {
            ImportError::Malformed { location, line, .. } => {
                assert_eq!(location, "record 2, field `IMDB Rating`");
                assert_eq!(line, 3);
            }
            other => panic!("{other}"),
        }
        assert!(matches!(parse(b"{\"Title\": 1}"), Err(ImportError::Malformed { .. })));
    }
}
