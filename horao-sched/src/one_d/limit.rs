//! Every limit of [`Config`] by name, so a harness or a configuration file can read and set
//! any of them without knowing the struct.

use super::Config;

/// A limit could not be set: its name is unknown, or its value does not fit the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// No limit has this name.
    #[error("unknown limit {name:?} (known: {})", Config::LIMITS.join(", "))]
    Unknown {
        /// The name given.
        name: String,
    },
    /// The value is not a non-negative integer, or is too large for this limit.
    #[error("limit {name}: {value:?} is not a count that fits it (a non-negative integer)")]
    Value {
        /// The limit's name.
        name: &'static str,
        /// The value given.
        value: String,
    },
    /// The text is not of the form `NAME=VALUE`.
    #[error("{0:?} is not NAME=VALUE")]
    Form(String),
}

/// A limit's field: a count, or a size of the host's width.
enum Field<'a> {
    Count(&'a mut u64),
    Size(&'a mut usize),
}

/// The canonical name of `name`: lower case, `-` read as `_`.
fn canonical(name: &str) -> Option<&'static str> {
    let wanted = name.trim().to_ascii_lowercase().replace('-', "_");
    Config::LIMITS.iter().copied().find(|&n| n == wanted)
}

impl Config {
    /// The name of every limit, as its field is named.
    pub const LIMITS: [&'static str; 17] = [
        "harmonic_k",
        "mbs_nodes_per_bin",
        "mbs_restarts",
        "search_effort",
        "exact_nodes",
        "max_search_items",
        "search_exact_nodes",
        "max_exact_items",
        "lp_rounds",
        "max_lp_rows",
        "dive_rounds",
        "price_nodes",
        "price_rounds",
        "max_price_items",
        "large_price_pivots",
        "lp_work",
        "shape_share",
    ];

    /// The field of the limit `name` (one of [`Config::LIMITS`]).
    fn field(&mut self, name: &str) -> Option<Field<'_>> {
        Some(match name {
            "harmonic_k" => Field::Size(&mut self.harmonic_k),
            "mbs_nodes_per_bin" => Field::Count(&mut self.mbs_nodes_per_bin),
            "mbs_restarts" => Field::Count(&mut self.mbs_restarts),
            "search_effort" => Field::Count(&mut self.search_effort),
            "exact_nodes" => Field::Count(&mut self.exact_nodes),
            "max_search_items" => Field::Size(&mut self.max_search_items),
            "search_exact_nodes" => Field::Count(&mut self.search_exact_nodes),
            "max_exact_items" => Field::Size(&mut self.max_exact_items),
            "lp_rounds" => Field::Count(&mut self.lp_rounds),
            "max_lp_rows" => Field::Size(&mut self.max_lp_rows),
            "dive_rounds" => Field::Count(&mut self.dive_rounds),
            "price_nodes" => Field::Count(&mut self.price_nodes),
            "price_rounds" => Field::Count(&mut self.price_rounds),
            "max_price_items" => Field::Size(&mut self.max_price_items),
            "large_price_pivots" => Field::Count(&mut self.large_price_pivots),
            "lp_work" => Field::Count(&mut self.lp_work),
            "shape_share" => Field::Count(&mut self.shape_share),
            _ => return None,
        })
    }

    /// The value of the limit `name` (a field name; `-` may stand for `_`), if there is one.
    pub fn limit(&self, name: &str) -> Option<u64> {
        let mut copy = self.clone();
        Some(match copy.field(canonical(name)?)? {
            Field::Count(v) => *v,
            Field::Size(v) => u64::try_from(*v).unwrap_or(u64::MAX),
        })
    }

    /// Sets the limit `name` (a field name; `-` may stand for `_`) to `value`.
    pub fn set_limit(&mut self, name: &str, value: u64) -> Result<(), LimitError> {
        let unknown = || LimitError::Unknown {
            name: name.to_owned(),
        };
        let known = canonical(name).ok_or_else(unknown)?;
        match self.field(known).ok_or_else(unknown)? {
            Field::Count(v) => *v = value,
            Field::Size(v) => {
                *v = usize::try_from(value).map_err(|_| LimitError::Value {
                    name: known,
                    value: value.to_string(),
                })?;
            }
        }
        Ok(())
    }

    /// Sets a limit from `NAME=VALUE` text (spaces around either part are ignored).
    pub fn apply(&mut self, assignment: &str) -> Result<(), LimitError> {
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(LimitError::Form(assignment.to_owned()));
        };
        let Some(known) = canonical(name) else {
            return Err(LimitError::Unknown {
                name: name.trim().to_owned(),
            });
        };
        let count = value.trim().parse::<u64>().map_err(|_| LimitError::Value {
            name: known,
            value: value.trim().to_owned(),
        })?;
        self.set_limit(known, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_reads_back_what_was_set_and_only_its_own_field() {
        for (k, name) in Config::LIMITS.iter().enumerate() {
            let mut config = Config::default();
            let value = 1_000 + k as u64;
            config
                .set_limit(name, value)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(config.limit(name), Some(value), "{name}");
            for other in Config::LIMITS.iter().filter(|&o| o != name) {
                assert_eq!(
                    config.limit(other),
                    Config::default().limit(other),
                    "setting {name} changed {other}"
                );
            }
        }
    }

    #[test]
    fn assignments_parse_names_loosely_and_reject_bad_input_by_name() {
        let mut config = Config::default();
        config
            .apply(" Large-Price-Pivots = 123 ")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.large_price_pivots, 123);
        let unknown = config.apply("pivots=5");
        assert_eq!(
            unknown,
            Err(LimitError::Unknown {
                name: "pivots".into()
            })
        );
        let message = unknown.map_or_else(|e| e.to_string(), |()| String::new());
        assert!(message.contains("large_price_pivots"), "{message}");
        assert_eq!(
            config.apply("lp_work=-1"),
            Err(LimitError::Value {
                name: "lp_work",
                value: "-1".into()
            })
        );
        assert_eq!(
            config.apply("lp_work"),
            Err(LimitError::Form("lp_work".into()))
        );
        assert_eq!(config.lp_work, Config::default().lp_work);
    }
}
