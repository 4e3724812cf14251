//! Layered configuration, shared by keymaps and themes: an embedded preset (named by the
//! user file, else a default), with the user's file merged over it. A user file never
//! replaces a preset; an unknown preset name is an error naming the file, line and value.

/// Load `default` (or the preset the user file names through `base_of`), then merge the
/// user file over it. `unknown(file, line, value)` builds the error for a preset name that
/// is not among `presets`.
pub(crate) fn load<T, E>(
    presets: &[(&str, &str)],
    default: &str,
    user: Option<(&str, &str)>,
    base_of: impl Fn(&str, &str) -> Result<Option<toml::Spanned<String>>, E>,
    unknown: impl Fn(String, usize, String) -> E,
    preset: impl Fn(&str) -> Option<T>,
    merge: impl Fn(&mut T, &str, &str) -> Result<(), E>,
) -> Result<T, E> {
    let mut name = default.to_string();
    if let Some((file, text)) = user
        && let Some(p) = base_of(file, text)?
    {
        if !presets.iter().any(|(n, _)| *n == p.get_ref()) {
            let line = line_of(text, p.span().start);
            return Err(unknown(file.to_string(), line, p.into_inner()));
        }
        name = p.into_inner();
    }
    let mut t = preset(&name).ok_or_else(|| unknown("<command line>".into(), 0, name.clone()))?;
    if let Some((file, text)) = user {
        merge(&mut t, file, text)?;
    }
    Ok(t)
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parse a config file; a syntax error becomes `syntax(file, line, message)`.
pub(crate) fn parse<T: serde::de::DeserializeOwned, E>(
    file: &str,
    text: &str,
    syntax: impl Fn(String, usize, String) -> E,
) -> Result<T, E> {
    toml::from_str(text).map_err(|e| {
        syntax(
            file.to_string(),
            e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
            e.message().trim().to_string(),
        )
    })
}

/// An embedded preset by name: `empty` merged with the preset's text (the presets are
/// tested to parse).
pub(crate) fn preset<T, E: std::fmt::Debug>(
    presets: &[(&str, &str)],
    name: &str,
    empty: T,
    merge: impl Fn(&mut T, &str, &str) -> Result<(), E>,
) -> Option<T> {
    let (_, text) = presets.iter().find(|(n, _)| *n == name)?;
    let mut t = empty;
    merge(&mut t, &format!("<preset {name}>"), text).expect("embedded presets are valid (tested)");
    Some(t)
}
