//! Reusable pieces, each with its own tests: the screens are built from these.

pub mod button;
pub mod device_code;
pub mod hint_bar;
pub mod kv_list;
pub mod select;
pub mod spinner;
pub mod step_bar;
pub mod text_field;
pub mod toggle;
pub mod wrap;
