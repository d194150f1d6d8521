//! Minimal CSV for bulk provisioning files (RFC 4180 subset): a header line naming the columns,
//! comma-separated fields, fields in double quotes may contain commas and `""` for a quote.
//! Blank lines and lines starting with `#` are skipped. Line numbers are the file's, 1-based.

use std::collections::HashMap;

/// One data line: its number in the file and its fields by column name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub fields: HashMap<String, String>,
}

impl Row {
    /// A field, trimmed; empty if absent.
    pub fn get(&self, column: &str) -> &str {
        self.fields.get(column).map_or("", |s| s.trim())
    }
}

/// Splits one line into fields.
pub fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if cur.trim().is_empty() && !was_quoted => {
                cur.clear();
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                out.push(std::mem::take(&mut cur));
                was_quoted = false;
            }
            (_, c) => cur.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    out.push(cur);
    Ok(out)
}

/// A data line, or its line number and why it could not be read.
pub type RowResult = Result<Row, (usize, String)>;

/// Parses a file: the header's columns must include `required`. Returns the rows, or per-line
/// errors for lines that do not split (they are reported, never skipped silently).
pub fn parse(text: &str, required: &[&str]) -> Result<Vec<RowResult>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let Some((hline, header)) = lines.next() else {
        return Err("the file is empty: a header line naming the columns is required".into());
    };
    let columns: Vec<String> = split_line(header)
        .map_err(|e| format!("line {hline}: {e}"))?
        .into_iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    if let Some(missing) = required.iter().find(|r| !columns.iter().any(|c| c == *r)) {
        return Err(format!(
            "line {hline}: the header has no column {missing:?} (required: {})",
            required.join(", ")
        ));
    }
    Ok(lines
        .map(|(n, l)| {
            let fields = split_line(l).map_err(|e| (n, e))?;
            if fields.len() > columns.len() {
                return Err((n, format!("{} fields for {} columns", fields.len(), columns.len())));
            }
            Ok(Row { line: n, fields: columns.iter().cloned().zip(fields).collect() })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_lines() {
        assert_eq!(split_line("a,b,,c").unwrap(), vec!["a", "b", "", "c"]);
        assert_eq!(
            split_line(r#""x,y",  "he said ""hi""" ,z"#).unwrap(),
            vec!["x,y", "he said \"hi\" ", "z"]
        );
        assert!(split_line("\"open").is_err());
        let text = "# field sheet\nesi_id,eui64,label\r\n\nE1,0001,\"Kitchen, left\"\nE2,0002\n\"bad\n1,2,3,4\n";
        let rows = parse(text, &["esi_id", "eui64"]).unwrap();
        assert_eq!(rows.len(), 4);
        let r0 = rows[0].as_ref().unwrap();
        assert_eq!((r0.line, r0.get("label"), r0.get("eui64")), (4, "Kitchen, left", "0001"));
        assert_eq!(rows[1].as_ref().unwrap().get("label"), "");
        assert_eq!(rows[2].as_ref().unwrap_err().0, 6);
        assert_eq!(rows[3].as_ref().unwrap_err().0, 7);
        assert!(parse("esi_id\n", &["esi_id", "eui64"]).unwrap_err().contains("eui64"));
        assert!(parse("\n# only\n", &["x"]).is_err());
    }
}
