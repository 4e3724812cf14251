//! C type names as users write them, mapped to the index's name spaces and to the names gcc
//! gives base types (`unsigned long` is `long unsigned int` in DWARF).

use super::index::Ns;
use std::borrow::Cow;

/// Split `struct foo` / `union foo` / `enum foo` / `foo` into name space and bare name, and
/// spell base types the way gcc does.
pub(crate) fn parse_type_name(name: &str) -> (Ns, Cow<'_, str>) {
    let name = name.trim();
    for (prefix, ns) in [
        ("struct ", Ns::Struct),
        ("union ", Ns::Union),
        ("enum ", Ns::Enum),
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return (ns, Cow::Borrowed(rest.trim()));
        }
    }
    (Ns::Ordinary, gcc_base_name(name))
}

fn gcc_base_name(name: &str) -> Cow<'_, str> {
    let words: Vec<&str> = name.split_whitespace().collect();
    let keyword = |w: &&str| {
        matches!(
            *w,
            "unsigned" | "signed" | "long" | "short" | "int" | "char"
        )
    };
    if words.is_empty() || !words.iter().all(keyword) {
        return Cow::Borrowed(name);
    }
    let count = |k: &str| words.iter().filter(|w| **w == k).count();
    let unsigned = count("unsigned") > 0;
    let signed = count("signed") > 0;
    let longs = count("long");
    let spelled = if count("char") > 0 {
        match (unsigned, signed) {
            (true, _) => "unsigned char",
            (_, true) => "signed char",
            _ => "char",
        }
    } else if count("short") > 0 {
        if unsigned {
            "short unsigned int"
        } else {
            "short int"
        }
    } else if longs >= 2 {
        if unsigned {
            "long long unsigned int"
        } else {
            "long long int"
        }
    } else if longs == 1 {
        if unsigned {
            "long unsigned int"
        } else {
            "long int"
        }
    } else if unsigned {
        "unsigned int"
    } else {
        "int"
    };
    Cow::Borrowed(spelled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_type_spellings() {
        let p = |s| parse_type_name(s).1.into_owned();
        assert_eq!(p("unsigned long"), "long unsigned int");
        assert_eq!(p("long unsigned int"), "long unsigned int");
        assert_eq!(p("unsigned"), "unsigned int");
        assert_eq!(p("long long"), "long long int");
        assert_eq!(p("unsigned long long"), "long long unsigned int");
        assert_eq!(p("short"), "short int");
        assert_eq!(p("signed char"), "signed char");
        assert_eq!(p("atomic_long_t"), "atomic_long_t");
        assert_eq!(parse_type_name("struct  task_struct").0, Ns::Struct);
        assert_eq!(parse_type_name("struct task_struct").1, "task_struct");
    }
}
