//! Element types of graph values: every ONNX `TensorProto.DataType`.
//!
//! Rotor does math on the float and integer types its emitters use (`F32`, `F16`, `BF16`, `F64`,
//! `I64`, `I32`, `Bool`); every other type (8/16/32/64-bit integers, float8/float6/float4,
//! int4/int2, complex, string) is carried through loading and saving as raw data, so a model that
//! uses them round-trips unchanged.

use std::fmt;

/// Element type of a tensor value, as in ONNX `TensorProto.DataType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    F32,
    F16,
    BF16,
    F64,
    I64,
    I32,
    Bool,
    U8,
    I8,
    U16,
    I16,
    U32,
    U64,
    /// Variable-length byte strings.
    Str,
    C64,
    C128,
    F8E4M3FN,
    F8E4M3FNUZ,
    F8E5M2,
    F8E5M2FNUZ,
    U4,
    I4,
    F4E2M1,
    F8E8M0,
    U2,
    I2,
    F6E2M3,
    F6E3M2,
    /// A data type code this version of rotor does not know (carried through unchanged).
    Other(i32),
    /// Unknown (types that cannot be inferred, in loaded models).
    Undefined,
}

/// `(type, ONNX code, bits per element, graph-text name, config name)` for every known type.
const TABLE: &[(DType, i32, u32, &str, &str)] = &[
    (DType::F32, 1, 32, "F32", "float32"),
    (DType::U8, 2, 8, "U8", "uint8"),
    (DType::I8, 3, 8, "I8", "int8"),
    (DType::U16, 4, 16, "U16", "uint16"),
    (DType::I16, 5, 16, "I16", "int16"),
    (DType::I32, 6, 32, "I32", "int32"),
    (DType::I64, 7, 64, "I64", "int64"),
    (DType::Str, 8, 0, "Str", "string"),
    (DType::Bool, 9, 8, "Bool", "bool"),
    (DType::F16, 10, 16, "F16", "float16"),
    (DType::F64, 11, 64, "F64", "float64"),
    (DType::U32, 12, 32, "U32", "uint32"),
    (DType::U64, 13, 64, "U64", "uint64"),
    (DType::C64, 14, 64, "C64", "complex64"),
    (DType::C128, 15, 128, "C128", "complex128"),
    (DType::BF16, 16, 16, "BF16", "bfloat16"),
    (DType::F8E4M3FN, 17, 8, "F8E4M3FN", "float8e4m3fn"),
    (DType::F8E4M3FNUZ, 18, 8, "F8E4M3FNUZ", "float8e4m3fnuz"),
    (DType::F8E5M2, 19, 8, "F8E5M2", "float8e5m2"),
    (DType::F8E5M2FNUZ, 20, 8, "F8E5M2FNUZ", "float8e5m2fnuz"),
    (DType::U4, 21, 4, "U4", "uint4"),
    (DType::I4, 22, 4, "I4", "int4"),
    (DType::F4E2M1, 23, 4, "F4E2M1", "float4e2m1"),
    (DType::F8E8M0, 24, 8, "F8E8M0", "float8e8m0"),
    (DType::U2, 25, 2, "U2", "uint2"),
    (DType::I2, 26, 2, "I2", "int2"),
    (DType::F6E2M3, 27, 6, "F6E2M3", "float6e2m3"),
    (DType::F6E3M2, 28, 6, "F6E3M2", "float6e3m2"),
];

impl DType {
    fn entry(self) -> Option<&'static (DType, i32, u32, &'static str, &'static str)> {
        TABLE.iter().find(|e| e.0 == self)
    }

    /// The ONNX `TensorProto.DataType` code.
    pub fn onnx_code(self) -> i32 {
        match self {
            DType::Other(c) => c,
            DType::Undefined => 0,
            t => t.entry().map_or(0, |e| e.1),
        }
    }

    /// Inverse of [`DType::onnx_code`]: known codes map to their type, `0` to `Undefined`, any
    /// other code to `Other(code)` (carried, never interpreted).
    pub fn from_onnx_code(code: i32) -> DType {
        match code {
            0 => DType::Undefined,
            c => TABLE.iter().find(|e| e.1 == c).map_or(DType::Other(c), |e| e.0),
        }
    }

    /// Floating-point element types rotor computes with (the ones rotary math accepts).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::BF16 | DType::F64)
    }

    /// Integer element types rotor computes with.
    pub fn is_int(self) -> bool {
        matches!(self, DType::I64 | DType::I32)
    }

    /// True for the types whose values rotor holds as typed vectors (the rest are raw bytes).
    pub fn is_computable(self) -> bool {
        self.is_float() || self.is_int() || self == DType::Bool
    }

    /// Bits per element (0 for strings and unknown types).
    pub fn bits(self) -> u32 {
        self.entry().map_or(0, |e| e.2)
    }

    /// Size of one element in bytes, for byte-aligned types (0 for sub-byte, string, unknown).
    pub fn size_of(self) -> usize {
        match self.bits() {
            b if b % 8 == 0 => (b / 8) as usize,
            _ => 0,
        }
    }

    /// Bytes that `n` packed elements occupy in `raw_data` (sub-byte types pack to whole bytes);
    /// `None` for strings and unknown types, or on overflow.
    pub fn packed_bytes(self, n: u64) -> Option<u64> {
        match self.bits() {
            0 => None,
            b => n.checked_mul(u64::from(b)).map(|bits| bits.div_ceil(8)),
        }
    }

    /// Parse the config spelling (`float32`, `float16`, `bfloat16`).
    pub fn from_config_name(name: &str) -> Option<DType> {
        Some(match name {
            "float32" | "f32" => DType::F32,
            "float16" | "f16" => DType::F16,
            "bfloat16" | "bf16" => DType::BF16,
            _ => return None,
        })
    }

    /// The lower-case spelling of this type (`float32`, `int64`, `float8e4m3fn`, ...).
    pub fn config_name(self) -> String {
        match self {
            DType::Other(c) => format!("type{c}"),
            DType::Undefined => "undefined".into(),
            t => t.entry().map_or_else(String::new, |e| e.4.to_string()),
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DType::Other(c) => write!(f, "Type{c}"),
            DType::Undefined => f.write_str("?"),
            t => f.write_str(t.entry().map_or("?", |e| e.3)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_kept() {
        for e in TABLE {
            assert_eq!(DType::from_onnx_code(e.1), e.0);
            assert_eq!(e.0.onnx_code(), e.1);
        }
        assert_eq!(DType::from_onnx_code(99), DType::Other(99));
        assert_eq!(DType::Other(99).onnx_code(), 99);
        assert_eq!(DType::from_onnx_code(0), DType::Undefined);
        assert_eq!(DType::I4.packed_bytes(5), Some(3));
        assert_eq!(DType::F6E2M3.packed_bytes(4), Some(3));
        assert_eq!(DType::Str.packed_bytes(4), None);
        assert_eq!(DType::U64.packed_bytes(u64::MAX), None);
    }
}
