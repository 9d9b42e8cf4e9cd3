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

/// The canonical name of `name`: lower case, `-` read as `_`.
fn canonical(name: &str) -> Option<&'static str> {
    let wanted = name.trim().to_ascii_lowercase().replace('-', "_");
    Config::LIMITS.iter().copied().find(|&n| n == wanted)
}

impl Config {
    /// The name of every limit, as its field is named.
    pub const LIMITS: [&'static str; 16] = [
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
    ];

    /// The value of the limit `name` (a field name; `-` may stand for `_`), if there is one.
    pub fn limit(&self, name: &str) -> Option<u64> {
        let wide = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        Some(match canonical(name)? {
            "harmonic_k" => wide(self.harmonic_k),
            "mbs_nodes_per_bin" => self.mbs_nodes_per_bin,
            "mbs_restarts" => self.mbs_restarts,
            "search_effort" => self.search_effort,
            "exact_nodes" => self.exact_nodes,
            "max_search_items" => wide(self.max_search_items),
            "search_exact_nodes" => self.search_exact_nodes,
            "max_exact_items" => wide(self.max_exact_items),
            "lp_rounds" => self.lp_rounds,
            "max_lp_rows" => wide(self.max_lp_rows),
            "dive_rounds" => self.dive_rounds,
            "price_nodes" => self.price_nodes,
            "price_rounds" => self.price_rounds,
            "max_price_items" => wide(self.max_price_items),
            "large_price_pivots" => self.large_price_pivots,
            // `canonical` returns one of `LIMITS`; the last is `lp_work`.
            _ => self.lp_work,
        })
    }

    /// Sets the limit `name` (a field name; `-` may stand for `_`) to `value`.
    pub fn set_limit(&mut self, name: &str, value: u64) -> Result<(), LimitError> {
        let Some(name) = canonical(name) else {
            return Err(LimitError::Unknown {
                name: name.to_owned(),
            });
        };
        let narrow = || {
            usize::try_from(value).map_err(|_| LimitError::Value {
                name,
                value: value.to_string(),
            })
        };
        match name {
            "harmonic_k" => self.harmonic_k = narrow()?,
            "mbs_nodes_per_bin" => self.mbs_nodes_per_bin = value,
            "mbs_restarts" => self.mbs_restarts = value,
            "search_effort" => self.search_effort = value,
            "exact_nodes" => self.exact_nodes = value,
            "max_search_items" => self.max_search_items = narrow()?,
            "search_exact_nodes" => self.search_exact_nodes = value,
            "max_exact_items" => self.max_exact_items = narrow()?,
            "lp_rounds" => self.lp_rounds = value,
            "max_lp_rows" => self.max_lp_rows = narrow()?,
            "dive_rounds" => self.dive_rounds = value,
            "price_nodes" => self.price_nodes = value,
            "price_rounds" => self.price_rounds = value,
            "max_price_items" => self.max_price_items = narrow()?,
            "large_price_pivots" => self.large_price_pivots = value,
            // `canonical` returns one of `LIMITS`; the last is `lp_work`.
            _ => self.lp_work = value,
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
