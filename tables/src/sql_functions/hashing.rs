//! osquery's hashing functions (`osquery/sql/sqlite_hashing.cpp`): `md5`, `sha1` and `sha256` of
//! a value's text, as lowercase hex.

use md5::Md5;
use rusqlite::{Connection, functions::Context};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{
    flags,
    value::{bytes, until_nul},
};

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function("md5", 1, flags(), |ctx| Ok(digest::<Md5>(ctx)))?;
    conn.create_scalar_function("sha1", 1, flags(), |ctx| Ok(digest::<Sha1>(ctx)))?;
    conn.create_scalar_function("sha256", 1, flags(), |ctx| Ok(digest::<Sha256>(ctx)))?;
    Ok(())
}

/// The digest of the argument's text up to its first NUL byte (osquery hashes a C string);
/// NULL for NULL.
fn digest<D: Digest>(ctx: &Context<'_>) -> Option<String> {
    let value = bytes(&ctx.get_raw(0))?;
    let hash = D::digest(until_nul(&value));
    Some(hash.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use rusqlite::types::Value;

    use crate::sql_functions::testing::{eval, text};

    #[test]
    fn known_digests_and_null() {
        assert_eq!(eval("md5('abc')"), text("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(
            eval("sha1('abc')"),
            text("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            eval("sha256('abc')"),
            text("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(eval("md5('')"), text("d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(eval("md5(123)"), eval("md5('123')"), "a number's text");
        assert_eq!(eval("sha1(NULL)"), Value::Null);
    }
}
