//! The two shared tables, each declared once: result codes ([`crate::Code`], in `error.rs`)
//! and verification reasons ([`crate::report::Reason`], in `report.rs`).
//!
//! A row of `code_table!` gives a code everything every layer needs: the Rust variant and its
//! documentation (also the comment of `PEC_RESULT_*` in `pec.h`), the number, the snake_case
//! name (the Python and Perl constant), and the static English message (`pec_result_message`).
//! `pec_result` in pec-ffi is generated from it (`cargo test -p pec-ffi --test result_table`),
//! because cbindgen does not expand macros. A row of `reason_table!` gives a reason its variant,
//! documentation and wire name; its code is the [`crate::Code`] variant of the same name.

/// Declares the result-code enum: `Variant = number, "name", "message";` per row, in numeric
/// order (a test checks the order). Generates the enum (`#[repr(u32)]`), `ALL`, `as_u32`,
/// `from_u32`, `name`, `message`, `doc` and `Display` (the name).
macro_rules! code_table {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $variant:ident = $num:literal, $cname:literal, $message:literal;
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[doc = $doc])+ $variant = $num, )+
        }

        impl $name {
            /// Every code, in numeric order (for tables in bindings and documentation).
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The numeric value.
            pub fn as_u32(self) -> u32 {
                self as u32
            }

            /// The code for a number, if it is one.
            pub fn from_u32(n: u32) -> Option<$name> {
                match n {
                    $( $num => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// A stable snake_case name (`malformed_message`), used as the Python/Perl
            /// constant name and, upper-cased after `PEC_RESULT_`, as the C constant.
            pub fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $cname, )+
                }
            }

            /// The static English text of the code (`"the message is truncated"`), the one
            /// `pec_result_message` returns.
            pub fn message(self) -> &'static str {
                match self {
                    $( $name::$variant => $message, )+
                }
            }

            /// The variant's documentation, one line per `\n`-terminated line (each starts with
            /// the space that followed `///`). The C header repeats it above `PEC_RESULT_*`.
            pub fn doc(self) -> &'static str {
                match self {
                    $( $name::$variant => concat!($($doc, "\n"),+), )+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

/// Declares the verification-reason enum: `Variant = "wire-name",` per row. The variant order
/// is the order of `Ord` (reports sort their reasons by it) and of `ALL`; never reorder rows.
/// Each reason's code is the `Code` variant of the same name. Generates the enum, `ALL`,
/// `as_str`, `code`, `from_wire` and `Display` (the wire name).
macro_rules! reason_table {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $variant:ident = $wire:literal,
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl $name {
            /// Every reason.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The stable wire name (`no-signature`, ...).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )+
                }
            }

            /// The stable numeric code (shared with `pec_result`).
            pub fn code(self) -> $crate::error::Code {
                match self {
                    $( $name::$variant => $crate::error::Code::$variant, )+
                }
            }

            /// Parses a wire name.
            pub fn from_wire(s: &str) -> Option<$name> {
                match s {
                    $( $wire => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::Code;
    use crate::report::Reason;

    #[test]
    fn reasons_round_trip_and_share_their_code_name() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_wire(r.as_str()), Some(*r));
            assert_eq!(r.to_string(), r.as_str());
            // the wire name is the code's name with dashes
            assert_eq!(r.as_str().replace('-', "_"), r.code().name(), "{r:?}");
        }
        assert_eq!(Reason::from_wire("no_signature"), None);
        assert_eq!(Reason::from_wire(""), None);
    }

    #[test]
    fn reasons_keep_their_order_and_fatality() {
        // Ord (and so the order reports list reasons in) follows the declaration order.
        let mut sorted = Reason::ALL.to_vec();
        sorted.sort();
        assert_eq!(sorted, Reason::ALL);
        let wire: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            wire,
            [
                "no-signature",
                "malformed-signature",
                "content-mismatch",
                "bad-signature",
                "untrusted-chain",
                "expired",
                "not-yet-valid",
                "revoked",
                "revocation-unknown",
                "not-in-index",
                "from-domain-mismatch",
                "signing-time-in-future",
                "daticert-mismatch",
                "partially-signed",
                "header-mismatch",
            ]
        );
        let not_fatal: Vec<Reason> =
            Reason::ALL.iter().copied().filter(|r| !r.is_fatal()).collect();
        assert_eq!(not_fatal, [Reason::RevocationUnknown, Reason::PartiallySigned]);
        assert_eq!(Reason::HeaderMismatch.code(), Code::HeaderMismatch);
        assert_eq!(Reason::DaticertMismatch.code().as_u32(), 607);
    }
}
