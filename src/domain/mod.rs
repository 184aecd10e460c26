//! Plain types and rules: typed ids, enums, free-form document rules and pure merges.
//! No I/O and no web framework types here (serde/utoipa derives are descriptions, not runtime).

/// An enumeration stored as TEXT (with a CHECK constraint) and written as snake_case in JSON.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// Parses the stored text; `None` means the database holds a value this build
            /// does not know, which callers treat as corrupt data.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod access;
pub mod auth;
pub mod carts;
pub mod catalog;
pub mod client;
pub mod companies;
pub mod coupons;
pub mod customers;
pub mod events;
pub mod free_form;
pub mod ids;
pub mod interests;
pub mod money;
pub mod notifications;
pub mod orders;
pub mod page;
pub mod payments;
pub mod precondition;
pub mod reports;
pub mod time;
pub mod timeline;
pub mod users;
pub mod view;
pub mod webhooks;
pub mod workshops;
