//! Debian control-file syntax (deb822): paragraphs of `Field: value` lines separated by blank
//! lines, a value continued on lines that start with a space or a tab. dpkg's `status` file and
//! apt's `.sources` files are written in it.

/// One paragraph's fields, in file order, names as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paragraph {
    pub fields: Vec<(String, String)>,
}

impl Paragraph {
    /// The value of `name` (field names are case-insensitive), first occurrence.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Every paragraph of `text`. Lines starting with `#` are comments (apt allows them; dpkg never
/// writes them). A line that is neither a field nor a continuation is skipped; a continuation
/// with no field before it too.
pub fn paragraphs(text: &str) -> Vec<Paragraph> {
    let mut out = Vec::new();
    let mut current = Paragraph::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.fields.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, value)) = current.fields.last_mut() {
                // A lone `.` stands for an empty line inside a multi-line value.
                let more = line.trim();
                value.push('\n');
                if more != "." {
                    value.push_str(more);
                }
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if !name.is_empty() {
                current
                    .fields
                    .push((name.to_owned(), value.trim().to_owned()));
            }
        }
    }
    if !current.fields.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_continuations_and_paragraphs() {
        let text = "Package: a\nDescription: short\n more\n .\n end\n\n\n# c\nPackage: b\n";
        let paragraphs = paragraphs(text);
        assert_eq!(paragraphs.len(), 2);
        assert_eq!(paragraphs[0].get("package"), Some("a"));
        assert_eq!(paragraphs[0].get("Description"), Some("short\nmore\n\nend"));
        assert_eq!(paragraphs[1].get("Package"), Some("b"));
        assert_eq!(paragraphs[1].get("Version"), None);
    }

    #[test]
    fn odd_input_is_skipped() {
        assert!(paragraphs(" orphan continuation\nno colon\n:\n").is_empty());
        assert!(paragraphs("").is_empty());
    }
}
