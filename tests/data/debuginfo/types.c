/* Fixture for src/debuginfo unit tests; see README.md for how types.o was built. */
typedef unsigned long ulong_t;
enum colour { RED = 1, GREEN = 2, BIG = -3 };
struct inner { int a; char b; };
struct sample {
	unsigned int flag : 1;
	unsigned int mode : 3;
	long counts[4];
	union {
		struct inner in;
		void *ptr;
	};
	struct {
		short x, y;
	} pos;
	const volatile ulong_t stamp;
	enum colour c;
	char tail[];
};
struct sample sample_var;
__attribute__((section(".data..percpu"))) int percpu_counter = 7;
int grid[2][3];
