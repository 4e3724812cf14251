//! Typed addresses. A bare `u64` never crosses an API boundary: a kernel virtual address is a
//! [`Kva`], a physical address a [`Pa`], a page frame number a [`Pfn`].

use std::fmt;

/// Size of a base page on the architectures quiesce supports (x86_64, arm64 with 4K pages).
pub const PAGE_SIZE: u64 = 4096;
pub const PAGE_SHIFT: u32 = 12;

macro_rules! addr_type {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub u64);

        impl $name {
            pub const fn new(v: u64) -> Self {
                Self(v)
            }
            pub const fn get(self) -> u64 {
                self.0
            }
            /// Address plus a byte offset, wrapping (a corrupt pointer must not panic).
            pub const fn add(self, off: u64) -> Self {
                Self(self.0.wrapping_add(off))
            }
            pub const fn sub(self, off: u64) -> Self {
                Self(self.0.wrapping_sub(off))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:#x})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }

        impl fmt::LowerHex for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }
    };
}

addr_type!(Kva, "A kernel virtual address.");
addr_type!(Pa, "A physical address.");
addr_type!(Pfn, "A page frame number (physical address >> PAGE_SHIFT).");

impl Pa {
    pub const fn pfn(self) -> Pfn {
        Pfn(self.0 >> PAGE_SHIFT)
    }
    pub const fn page_offset(self) -> u64 {
        self.0 & (PAGE_SIZE - 1)
    }
}

impl Pfn {
    pub const fn pa(self) -> Pa {
        Pa(self.0 << PAGE_SHIFT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pfn_round_trip() {
        let pa = Pa(0x1234_5678);
        assert_eq!(pa.pfn(), Pfn(0x12345));
        assert_eq!(pa.page_offset(), 0x678);
        assert_eq!(pa.pfn().pa(), Pa(0x1234_5000));
        assert_eq!(
            format!("{}", Kva(0xffff_ffff_8100_0000)),
            "0xffffffff81000000"
        );
        assert_eq!(Kva(u64::MAX).add(2), Kva(1));
    }
}
