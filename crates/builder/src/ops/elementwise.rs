//! Elementwise constructors: arithmetic and comparisons with broadcasting, unary maths,
//! `Where`, `Cast`, `Softmax`, `Gelu`, `Trilu`, `CumSum`.

use rotor_ir::{BuildError, DType, Value, attrs};

use crate::Builder;

macro_rules! binary_ops {
    ($($(#[$doc:meta])* $fn_name:ident => $op:literal),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $fn_name(&mut self, name: &str, a: Value, b: Value) -> Result<Value, BuildError> {
                self.add_node(name, $op, &[Some(a), Some(b)], attrs![])
            }
        )*
    };
}

macro_rules! unary_ops {
    ($($(#[$doc:meta])* $fn_name:ident => $op:literal),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $fn_name(&mut self, name: &str, x: Value) -> Result<Value, BuildError> {
                self.add_node(name, $op, &[Some(x)], attrs![])
            }
        )*
    };
}

/// Elementwise constructors.
impl Builder {
    binary_ops! {
        /// `Add(a, b)` with broadcasting.
        add => "Add",
        /// `Sub(a, b)` with broadcasting.
        sub => "Sub",
        /// `Mul(a, b)` with broadcasting.
        mul => "Mul",
        /// `Div(a, b)` with broadcasting (integer division truncates).
        div => "Div",
        /// `Pow(a, b)`.
        pow => "Pow",
        /// `Max(a, b)`.
        max => "Max",
        /// `Min(a, b)`.
        min => "Min",
        /// `Equal(a, b)` → Bool.
        equal => "Equal",
        /// `Less(a, b)` → Bool.
        less => "Less",
        /// `Greater(a, b)` → Bool.
        greater => "Greater",
        /// `LessOrEqual(a, b)` → Bool.
        less_or_equal => "LessOrEqual",
        /// `Or(a, b)` on Bool.
        or => "Or",
        /// `And(a, b)` on Bool.
        and => "And",
    }

    unary_ops! {
        /// `Neg(x)`.
        neg => "Neg",
        /// `Abs(x)`.
        abs => "Abs",
        /// `Cos(x)`.
        cos => "Cos",
        /// `Sin(x)`.
        sin => "Sin",
        /// `Exp(x)`.
        exp => "Exp",
        /// `Sqrt(x)`.
        sqrt => "Sqrt",
        /// `Reciprocal(x)` = 1/x.
        reciprocal => "Reciprocal",
        /// `Sigmoid(x)`.
        sigmoid => "Sigmoid",
        /// `Erf(x)`.
        erf => "Erf",
        /// `Identity(x)`.
        identity => "Identity",
        /// `Not(x)` on Bool.
        not => "Not",
        /// `Floor(x)`.
        floor => "Floor",
    }

    /// `Where(cond, x, y)`.
    pub fn where_(&mut self, name: &str, cond: Value, x: Value, y: Value) -> Result<Value, BuildError> {
        self.add_node(name, "Where", &[Some(cond), Some(x), Some(y)], attrs![])
    }

    /// `Cast(x, to)`.
    pub fn cast(&mut self, name: &str, x: Value, to: DType) -> Result<Value, BuildError> {
        self.add_node(name, "Cast", &[Some(x)], attrs![("to", to.onnx_code() as i64)])
    }

    /// `Softmax(x, axis)`.
    pub fn softmax(&mut self, name: &str, x: Value, axis: i64) -> Result<Value, BuildError> {
        self.add_node(name, "Softmax", &[Some(x)], attrs![("axis", axis)])
    }

    /// `Gelu(x)` (opset 20+, exact erf form) or its decomposition `0.5·x·(1+erf(x/√2))` below.
    pub fn gelu(&mut self, name: &str, x: Value) -> Result<Value, BuildError> {
        if self.opset() >= 20 {
            return self.add_node(name, "Gelu", &[Some(x)], attrs![("approximate", "none")]);
        }
        let dt = self.dtype(x);
        let inv_sqrt2 = self.const_scalar(&format!("{name}_inv_sqrt2"), std::f32::consts::FRAC_1_SQRT_2, dt)?;
        let one = self.const_scalar(&format!("{name}_one"), 1.0, dt)?;
        let half = self.const_scalar(&format!("{name}_half"), 0.5, dt)?;
        let scaled = self.mul(&format!("{name}_scaled"), x, inv_sqrt2)?;
        let e = self.erf(&format!("{name}_erf"), scaled)?;
        let e1 = self.add(&format!("{name}_erf1"), e, one)?;
        let hx = self.mul(&format!("{name}_halfx"), x, half)?;
        self.mul(name, hx, e1)
    }

    /// `Trilu(x, k, upper)`.
    pub fn trilu(&mut self, name: &str, x: Value, k: Option<Value>, upper: bool) -> Result<Value, BuildError> {
        self.add_node(name, "Trilu", &[Some(x), k], attrs![("upper", i64::from(upper))])
    }

    /// `CumSum(x, axis)`.
    pub fn cumsum(&mut self, name: &str, x: Value, axis: Value) -> Result<Value, BuildError> {
        self.add_node(name, "CumSum", &[Some(x), Some(axis)], attrs![])
    }
}
