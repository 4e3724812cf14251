/* Classic SRCU as of v4.11 (include/linux/srcu.h at v4.11: struct srcu_array,
 * struct rcu_batch, struct srcu_struct). */
#include "common.h"
struct srcu_array { unsigned long lock_count[2]; unsigned long unlock_count[2]; };
struct rcu_batch { struct callback_head *head, **tail; };
struct srcu_struct {
	unsigned long completed;
	struct srcu_array *per_cpu_ref;
	spinlock_t queue_lock;
	bool running;
	struct rcu_batch batch_queue;
	struct rcu_batch batch_check0;
	struct rcu_batch batch_check1;
	struct rcu_batch batch_done;
	struct delayed_work work;
};
struct srcu_struct classic_srcu;
struct srcu_array classic_srcu_array;
