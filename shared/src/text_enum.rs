//! Closed sets of values stored in `TEXT` columns (order and payment statuses, audit actions): each value's text is
//! written once, in its enum's definition, and serves the database, the wire (serde) and error messages alike.
//!
//! [`text_enum!`](crate::text_enum) declares such an enum; the crate using it needs `serde` and `diesel`.

/// An enum whose values are stored and sent as fixed strings.
pub trait TextEnum: Copy + Eq + 'static {
    /// Every value, in declaration order (the order error messages list them in).
    const ALL: &'static [Self];

    /// The stored and wire form.
    fn as_str(self) -> &'static str;

    /// The value with exactly this stored form.
    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.as_str() == raw)
    }

    /// The allowed values the way the original API listed them in its messages: `['a', 'b']`.
    fn listing() -> String {
        let names: Vec<String> = Self::ALL.iter().map(|value| format!("'{}'", value.as_str())).collect();
        format!("[{}]", names.join(", "))
    }
}

/// Declares an enum stored in a `TEXT` column: `Variant = "text"` for each value. It derives serde with those
/// names, implements [`TextEnum`], `Display`, and diesel's `ToSql`/`FromSql` for `Text`, so a column compares with
/// a value (`orders::status.eq(OrderStatus::Pending)`) and loads into one. A stored text outside the set fails the
/// row's deserialisation (the columns' CHECK constraints keep that from happening).
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            // `tt`, not `literal`: a `literal` fragment reaches derives wrapped in an invisible group, which serde
            // reads but utoipa does not (the OpenAPI document then listed the variant names).
            $( $(#[$variant_meta:meta])* $variant:ident = $text:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            serde::Deserialize,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant ),+
        }

        impl $crate::text_enum::TextEnum for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];

            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl $name {
            /// The stored and wire form.
            pub fn as_str(self) -> &'static str {
                <Self as $crate::text_enum::TextEnum>::as_str(self)
            }

            /// The value with exactly this stored form.
            pub fn parse(raw: &str) -> Option<Self> {
                <Self as $crate::text_enum::TextEnum>::parse(raw)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let raw =
                    <String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(bytes)?;
                Self::parse(&raw)
                    .ok_or_else(|| format!("unknown {} {raw:?}", stringify!($name)).into())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::TextEnum;
    use crate::schema::orders;

    crate::text_enum! {
        /// A sample set.
        pub enum Sample {
            First = "first",
            SecondOne = "second_one",
        }
    }

    #[test]
    fn values_keep_their_text_everywhere() {
        for value in Sample::ALL {
            assert_eq!(Sample::parse(value.as_str()), Some(*value));
            assert_eq!(serde_json::to_value(value).ok(), Some(serde_json::Value::from(value.as_str())));
            assert_eq!(value.to_string(), value.as_str());
        }
        assert_eq!(serde_json::from_str::<Sample>("\"second_one\"").ok(), Some(Sample::SecondOne));
        assert_eq!(Sample::parse("First"), None);
        assert_eq!(Sample::listing(), "['first', 'second_one']");
    }

    #[test]
    fn values_bind_as_text_parameters() {
        let query = orders::table.filter(orders::status.eq(Sample::First)).select(orders::id);
        let sql = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
        assert!(sql.contains("WHERE (\"orders\".\"status\" = $1) -- binds: [First]"), "{sql}");
    }
}
