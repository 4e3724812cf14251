//! The type model on a small committed object (`tests/data/debuginfo/types.o`, see its README).

use super::*;
use std::path::PathBuf;

fn fixture() -> DebugInfo {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/debuginfo/types.o");
    DebugInfo::open_vmlinux(&p).unwrap()
}

#[test]
fn struct_layout_bitfields_anonymous_members() {
    let di = fixture();
    let s = di.find_type("struct sample").unwrap();
    let t = di.ty(s).unwrap();
    assert_eq!(t.kind, TypeKind::Struct);
    let names: Vec<_> = t.members.iter().map(|m| m.name.as_deref()).collect();
    assert_eq!(
        names,
        [
            Some("flag"),
            Some("mode"),
            Some("counts"),
            None,
            Some("pos"),
            Some("stamp"),
            Some("c"),
            Some("tail")
        ]
    );
    assert_eq!(
        (t.members[0].bit_offset, t.members[0].bit_size),
        (Some(0), Some(1))
    );
    assert_eq!(
        (
            t.members[1].offset,
            t.members[1].bit_offset,
            t.members[1].bit_size
        ),
        (0, Some(1), Some(3))
    );
    assert_eq!(di.member(s, "counts").unwrap().offset, 8);
    assert_eq!(di.member(s, "counts[2]").unwrap().offset, 24);
    // Through the anonymous union, as C allows.
    assert_eq!(di.member(s, "in.b").unwrap().offset, 44);
    assert_eq!(di.member(s, "ptr").unwrap().offset, 40);
    assert_eq!(di.member(s, "pos.y").unwrap().offset, 50);
    let stamp = di.member(s, "stamp").unwrap();
    let ul = di.strip(stamp.ty);
    assert!(matches!(
        di.ty(ul).unwrap().kind,
        TypeKind::Base {
            encoding: BaseEncoding::Unsigned,
            size: 8,
            ..
        }
    ));
    assert_eq!(ul, di.find_type("unsigned long").unwrap());
    let tail = di.ty(di.member(s, "tail").unwrap().ty).unwrap();
    assert_eq!((tail.kind.clone(), tail.count), (TypeKind::Array, None));
    assert_eq!(di.sizeof(s), Some(72));
    assert!(matches!(
        di.member(s, "nope"),
        Err(DebugError::NoMember { .. })
    ));
}

#[test]
fn enums_typedefs_arrays_variables() {
    let di = fixture();
    let e = di.find_type("enum colour").unwrap();
    assert_eq!(
        di.ty(e).unwrap().enumerators,
        [
            ("RED".to_string(), 1),
            ("GREEN".to_string(), 2),
            ("BIG".to_string(), -3)
        ]
    );
    assert_eq!(di.find_enumerator("BIG"), Some((-3, e)));
    let td = di.find_type("ulong_t").unwrap();
    assert_eq!(di.ty(td).unwrap().kind, TypeKind::Typedef);
    assert_eq!(di.sizeof(td), Some(8));
    let grid = di.find_variable("grid").unwrap();
    assert_eq!(di.sizeof(grid.ty), Some(24));
    let outer = di.ty(grid.ty).unwrap();
    assert_eq!(outer.count, Some(2));
    let inner = di.ty(outer.target.unwrap()).unwrap();
    assert_eq!(
        (inner.kind.clone(), inner.count),
        (TypeKind::Array, Some(3))
    );
    let v = di.find_variable("sample_var").unwrap();
    assert_eq!(di.ty(v.ty).unwrap().name.as_deref(), Some("sample"));
    assert!(di.find_variable("percpu_counter").is_ok());
    assert!(matches!(
        di.find_type("struct missing"),
        Err(DebugError::TypeNotFound(_))
    ));
    assert!(di.type_names().any(|n| n == "struct sample"));
}
