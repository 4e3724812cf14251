/* Kernel types the SRCU decoder probes, as x86_64 4.x/5.x kernels define them. */
#include <stdbool.h>
struct callback_head { struct callback_head *next; void (*func)(struct callback_head *); };
struct list_head { struct list_head *next, *prev; };
typedef struct { long counter; } atomic_long_t;
typedef struct { unsigned int slock; } spinlock_t;
struct work_struct { atomic_long_t data; struct list_head entry; void (*func)(struct work_struct *); };
struct hlist_node { struct hlist_node *next, **pprev; };
struct timer_list { struct hlist_node entry; unsigned long expires; void (*function)(struct timer_list *); unsigned int flags; };
struct delayed_work { struct work_struct work; struct timer_list timer; void *wq; int cpu; };
struct rcu_segcblist { struct callback_head *head; struct callback_head **tails[4]; unsigned long gp_seq[4]; long len; long len_lazy; };
