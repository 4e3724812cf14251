/* Tiny SRCU as of v5.15 (include/linux/srcutiny.h at v5.15: polling srcu_idx/srcu_idx_max). */
#include "common.h"
struct swait_queue_head { spinlock_t lock; struct list_head task_list; };
struct srcu_struct {
	short srcu_lock_nesting[2];
	unsigned short srcu_idx;
	unsigned short srcu_idx_max;
	unsigned char srcu_gp_running;
	unsigned char srcu_gp_waiting;
	struct swait_queue_head srcu_wq;
	struct callback_head *srcu_cb_head;
	struct callback_head **srcu_cb_tail;
	struct work_struct srcu_work;
};
struct srcu_struct tiny_srcu;
