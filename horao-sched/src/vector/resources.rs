//! The resource registry: names of dimensions mapped to dense vector indices.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// An ordered list of resource names ("cpu", "ram", "disk", ...); a name's position is its
/// index in every capacity, usage and demand vector of one problem.
///
/// Serialized as the plain list of names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Resources {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Resources {
    /// Builds a registry; errors when a name appears twice.
    pub fn new<I, S>(names: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        let mut index = HashMap::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            if index.insert(name.clone(), i).is_some() {
                return Err(Error::DuplicateResource(name.clone()));
            }
        }
        Ok(Self { names, index })
    }

    /// The number of dimensions.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no dimensions at all.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of a resource name, if it is registered.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The name of dimension `index`, if it exists.
    pub fn name(&self, index: usize) -> Option<&str> {
        self.names.get(index).map(String::as_str)
    }

    /// All names in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Builds a dense vector from `(name, amount)` pairs; unnamed dimensions are zero.
    ///
    /// Errors with [`Error::UnknownResource`] for a name that is not registered. A name given
    /// twice adds up.
    pub fn vector<'a, I>(&self, amounts: I) -> Result<Vec<u64>>
    where
        I: IntoIterator<Item = (&'a str, u64)>,
    {
        let mut out = vec![0u64; self.len()];
        for (name, amount) in amounts {
            let i = self
                .index(name)
                .ok_or_else(|| Error::UnknownResource(name.to_owned()))?;
            out[i] = out[i].saturating_add(amount);
        }
        Ok(out)
    }

    /// Checks that `vector` has one entry per dimension; `what` names it in the error.
    pub fn check_len(&self, what: impl FnOnce() -> String, vector: &[u64]) -> Result<()> {
        if vector.len() == self.len() {
            Ok(())
        } else {
            Err(Error::DimensionMismatch {
                what: what(),
                expected: self.len(),
                found: vector.len(),
            })
        }
    }
}

impl TryFrom<Vec<String>> for Resources {
    type Error = Error;

    fn try_from(names: Vec<String>) -> Result<Self> {
        Self::new(names)
    }
}

impl From<Resources> for Vec<String> {
    fn from(resources: Resources) -> Self {
        resources.names
    }
}
