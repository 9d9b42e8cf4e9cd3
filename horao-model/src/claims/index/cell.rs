//! The model's slot for its derived fit index: built on first use, shared between clones of
//! the model until one of them changes, and left out of equality, debug output and
//! serialization (it is derived from the state, never part of it).

use super::FitIndex;
use crate::model::Model;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// A lazily built [`FitIndex`].
#[derive(Clone, Default)]
pub(crate) struct FitCell(OnceLock<Arc<FitIndex>>);

impl FitCell {
    /// The index of `m` (whose cell this is), built now if it is not yet.
    pub(crate) fn get_or_build(&self, m: &Model) -> &FitIndex {
        self.0.get_or_init(|| Arc::new(FitIndex::build(m)))
    }

    /// The index, if it is built.
    pub(crate) fn get(&self) -> Option<&FitIndex> {
        self.0.get().map(|ix| &**ix)
    }

    /// Takes the index out, leaving the cell unbuilt.
    pub(crate) fn take(&mut self) -> Option<Arc<FitIndex>> {
        self.0.take()
    }

    /// Puts a built index back.
    pub(crate) fn put(&mut self, ix: Arc<FitIndex>) {
        self.0 = OnceLock::from(ix);
    }
}

impl PartialEq for FitCell {
    /// Always equal: the index is derived from the state, which is compared instead.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for FitCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let built = self.0.get().is_some();
        f.debug_struct("FitCell").field("built", &built).finish()
    }
}
