//! The CRDT types users build with; each is a dot store, so any of them nests in an [`OrMap`].

mod array;
mod counter;
mod lww;
mod mvreg;
mod ormap;
mod orset;
mod position;

pub use array::{ElemId, Element, FracArray};
pub use counter::PnCounter;
pub use lww::LwwReg;
pub use mvreg::MvReg;
pub use ormap::OrMap;
pub use orset::OrSet;
pub use position::{MAX_POSITION_LEN, Position};
