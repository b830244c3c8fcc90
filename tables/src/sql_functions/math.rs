//! osquery's math functions (`osquery/sql/sqlite_math.cpp`): one-argument functions of a real,
//! `power`, `ceil`, `floor` and `pi`. SQLite's own build here has none of them (`log` is the
//! natural logarithm, as in osquery, not SQLite's base-10 one).

use rusqlite::{Connection, functions::Context, types::ValueRef};

use super::{failure, flags, value::double};

/// What C's math library reports through `errno`, with `strerror`'s words.
#[derive(Debug, Clone, Copy)]
enum MathError {
    /// EDOM
    Domain,
    /// ERANGE
    Range,
}

impl MathError {
    fn message(self) -> &'static str {
        match self {
            MathError::Domain => "Numerical argument out of domain",
            MathError::Range => "Numerical result out of range",
        }
    }
}

type Real = fn(f64) -> Result<f64, MathError>;

/// The functions of one real, each with the `errno` glibc would set.
const REAL_FUNCTIONS: &[(&str, Real)] = &[
    ("sqrt", |x| domain(x >= 0.0 || x.is_nan(), x.sqrt())),
    ("acos", |x| domain(x.abs() <= 1.0 || x.is_nan(), x.acos())),
    ("asin", |x| domain(x.abs() <= 1.0 || x.is_nan(), x.asin())),
    ("atan", |x| Ok(x.atan())),
    ("cos", |x| domain(!x.is_infinite(), x.cos())),
    ("sin", |x| domain(!x.is_infinite(), x.sin())),
    ("tan", |x| domain(!x.is_infinite(), x.tan())),
    // osquery computes 1/tan(x) itself: no errno for a pole, just an infinity.
    ("cot", |x| domain(!x.is_infinite(), 1.0 / x.tan())),
    ("exp", |x| range(x, x.exp())),
    ("log", |x| logarithm(x, x.ln())),
    ("log10", |x| logarithm(x, x.log10())),
    ("degrees", |x| Ok(180.0 * x / std::f64::consts::PI)),
    ("radians", |x| Ok(x * std::f64::consts::PI / 180.0)),
];

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    for &(name, f) in REAL_FUNCTIONS {
        conn.create_scalar_function(name, 1, flags(), move |ctx| real(ctx, name, f))?;
    }
    conn.create_scalar_function("power", 2, flags(), |ctx| power(ctx))?;
    conn.create_scalar_function("ceil", 1, flags(), |ctx| Ok(rounded(ctx, f64::ceil)))?;
    conn.create_scalar_function("floor", 1, flags(), |ctx| Ok(rounded(ctx, f64::floor)))?;
    conn.create_scalar_function("pi", 0, flags(), |_| Ok(std::f64::consts::PI))?;
    Ok(())
}

fn domain(valid: bool, result: f64) -> Result<f64, MathError> {
    if valid {
        Ok(result)
    } else {
        Err(MathError::Domain)
    }
}

/// A finite argument whose result overflowed, or underflowed to 0, is a range error.
fn range(x: f64, result: f64) -> Result<f64, MathError> {
    if x.is_finite() && (result.is_infinite() || (result == 0.0 && x != f64::NEG_INFINITY)) {
        Err(MathError::Range)
    } else {
        Ok(result)
    }
}

fn logarithm(x: f64, result: f64) -> Result<f64, MathError> {
    if x < 0.0 {
        Err(MathError::Domain)
    } else if x == 0.0 {
        Err(MathError::Range)
    } else {
        Ok(result)
    }
}

fn real(ctx: &Context<'_>, name: &str, f: Real) -> rusqlite::Result<Option<f64>> {
    let value = ctx.get_raw(0);
    if matches!(value, ValueRef::Null) {
        return Ok(None);
    }
    let x = double(&value);
    f(x).map(Some)
        .map_err(|e| failure(format!("{name}({x}): {}", e.message())))
}

fn power(ctx: &Context<'_>) -> rusqlite::Result<Option<f64>> {
    let (base, exponent) = (ctx.get_raw(0), ctx.get_raw(1));
    if matches!(base, ValueRef::Null) || matches!(exponent, ValueRef::Null) {
        return Ok(None);
    }
    let (x, y) = (double(&base), double(&exponent));
    let result = x.powf(y);
    let finite = x.is_finite() && y.is_finite();
    // glibc: a negative base to a fractional power has no real value; 0 to a negative power
    // is a pole, and a result past the doubles overflowed or underflowed.
    let pole = x == 0.0 && y < 0.0;
    let out_of_range = finite && (result.is_infinite() || (result == 0.0 && x != 0.0));
    let problem = if x < 0.0 && finite && y.fract() != 0.0 {
        Some(MathError::Domain)
    } else if pole || out_of_range {
        Some(MathError::Range)
    } else {
        None
    };
    match problem {
        None => Ok(Some(result)),
        Some(e) => Err(failure(format!("power({x}, {y}): {}", e.message()))),
    }
}

/// `ceil` and `floor` give integers: an integer argument as it is, anything else rounded.
fn rounded(ctx: &Context<'_>, f: fn(f64) -> f64) -> Option<i64> {
    match ctx.get_raw(0) {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i),
        other => Some(f(double(&other)) as i64),
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::types::Value;

    use crate::sql_functions::testing::{error_of, eval};

    fn real(expr: &str) -> f64 {
        match eval(expr) {
            Value::Real(r) => r,
            other => panic!("{expr} gave {other:?}"),
        }
    }

    #[test]
    fn values_of_the_functions() {
        assert_eq!(real("sqrt(16)"), 4.0);
        assert!((real("log(exp(1))") - 1.0).abs() < 1e-12, "log is natural");
        assert_eq!(real("log10(1000)"), 3.0);
        assert_eq!(real("power(2, 10)"), 1024.0);
        assert!((real("degrees(pi())") - 180.0).abs() < 1e-12);
        assert!((real("radians(180)") - std::f64::consts::PI).abs() < 1e-12);
        assert!((real("cot(1)") - 1.0 / 1f64.tan()).abs() < 1e-12);
        assert_eq!(real("sqrt('9')"), 3.0, "text is read as a number");
        assert_eq!(eval("ceil(2.1)"), Value::Integer(3));
        assert_eq!(eval("floor(-2.1)"), Value::Integer(-3));
        assert_eq!(eval("ceil(7)"), Value::Integer(7));
        assert_eq!(eval("floor('2.9')"), Value::Integer(2));
    }

    #[test]
    fn null_gives_null() {
        for f in [
            "sqrt", "acos", "asin", "atan", "cos", "sin", "tan", "cot", "exp", "log", "log10",
            "ceil", "floor", "degrees", "radians",
        ] {
            assert_eq!(eval(&format!("{f}(NULL)")), Value::Null, "{f}");
        }
        assert_eq!(eval("power(NULL, 2)"), Value::Null);
        assert_eq!(eval("power(2, NULL)"), Value::Null);
    }

    #[test]
    fn domain_and_range_errors_are_sql_errors() {
        let message = error_of("sqrt(-1)");
        assert!(
            message.contains("sqrt(-1): Numerical argument out of domain"),
            "{message}"
        );
        assert!(error_of("log(0)").contains("out of range"));
        assert!(error_of("log(-1)").contains("out of domain"));
        assert!(error_of("acos(2)").contains("out of domain"));
        assert!(error_of("exp(1000)").contains("out of range"));
        assert!(error_of("power(-8, 0.5)").contains("out of domain"));
        assert!(error_of("power(10, 400)").contains("out of range"));
    }
}
