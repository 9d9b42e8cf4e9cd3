//! The CRDT types users build with; each is a dot store, so any of them nests in an [`OrMap`].

mod counter;
mod lww;
mod mvreg;
mod ormap;
mod orset;

pub use counter::PnCounter;
pub use lww::LwwReg;
pub use mvreg::MvReg;
pub use ormap::OrMap;
pub use orset::OrSet;
