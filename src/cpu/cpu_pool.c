/*
 * cpu_pool.c - the CPU backend's thread pool: a context's kernels split their rows across its workers and the
 * calling thread. Workers start on the first op big enough to need them and are joined when the context goes.
 *
 * A job is [0, n) cut into contiguous chunks that the participants claim one at a time under the lock, so a slow
 * thread never holds the others up. Which thread runs a chunk changes nothing in its results: each output element
 * belongs to exactly one item, computed by the same code whatever the thread count.
 */
#include "cpu/cpu_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* Below this much work (items times cost per item, about one unit per element touched) waking workers costs more
 * than it saves. */
#define INLINE_WORK 65536
/* Chunks per participant: enough to even out rows of unequal cost (causal masks), few enough to keep per-chunk
 * setup (row conversions, scratch buffers) small. */
#define CHUNKS_PER_THREAD 4

struct vkattn__cpu_pool {
    uint32_t threads;          /* participants, the calling thread included */
    uint32_t started;          /* workers running (threads - 1 once started, fewer if creation failed) */
    bool tried;                /* workers started, or tried and failed: do not try again */
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* a new job, or quit */
    pthread_cond_t done;       /* the last chunk of the job finished */
    uint64_t generation;       /* counts jobs, so a worker tells a new job from the one it has done */
    bool quit;
    /* The current job. */
    vkattn__cpu_task_fn fn;
    void *arg;
    int64_t n;
    uint32_t chunks;
    uint32_t next;             /* next chunk to claim */
    uint32_t pending;          /* chunks not yet finished */
};

uint32_t vkattn__cpu_online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > VKATTN__CPU_MAX_THREADS ? VKATTN__CPU_MAX_THREADS : (uint32_t)n;
}

vkattn__cpu_pool *vkattn__cpu_pool_create(uint32_t threads)
{
    vkattn__cpu_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->threads = threads;
    if (pthread_mutex_init(&pool->lock, NULL) != 0) {
        free(pool);
        return NULL;
    }
    if (pthread_cond_init(&pool->wake, NULL) != 0) {
        pthread_mutex_destroy(&pool->lock);
        free(pool);
        return NULL;
    }
    if (pthread_cond_init(&pool->done, NULL) != 0) {
        pthread_cond_destroy(&pool->wake);
        pthread_mutex_destroy(&pool->lock);
        free(pool);
        return NULL;
    }
    return pool;
}

void vkattn__cpu_pool_destroy(vkattn__cpu_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->quit = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (uint32_t i = 0; i < pool->started; i++)
        pthread_join(pool->workers[i], NULL);
    free(pool->workers);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

uint32_t vkattn__cpu_pool_threads(const vkattn__cpu_pool *pool)
{
    return pool ? pool->threads : 1;
}

/* Claims and runs chunks of the current job until none is left. Called with the lock held; returns with it held. */
static void run_chunks(vkattn__cpu_pool *pool)
{
    while (pool->next < pool->chunks) {
        uint32_t c = pool->next++;
        vkattn__cpu_task_fn fn = pool->fn;
        void *arg = pool->arg;
        int64_t begin = pool->n * c / pool->chunks, end = pool->n * (c + 1) / pool->chunks;
        pthread_mutex_unlock(&pool->lock);
        fn(arg, begin, end);
        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
    }
}

static void *worker_main(void *p)
{
    vkattn__cpu_pool *pool = p;
    uint64_t seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->quit && pool->generation == seen)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->quit)
            break;
        seen = pool->generation;
        run_chunks(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Starts the workers once. Any that cannot be created are done without: the job runs on those there are. */
static void start_workers(vkattn__cpu_pool *pool)
{
    pool->tried = true;
    pool->workers = calloc(pool->threads - 1, sizeof *pool->workers);
    if (!pool->workers)
        return;
    while (pool->started < pool->threads - 1 &&
           pthread_create(&pool->workers[pool->started], NULL, worker_main, pool) == 0)
        pool->started++;
}

void vkattn__cpu_parallel_for(vkattn__cpu_pool *pool, int64_t n, int64_t cost, vkattn__cpu_task_fn fn, void *arg)
{
    if (n <= 0)
        return;
    bool small = n < 2 || n <= INLINE_WORK / (cost > 0 ? cost : 1);
    if (!pool || pool->threads < 2 || small) {
        fn(arg, 0, n);
        return;
    }
    if (!pool->tried)
        start_workers(pool);
    if (pool->started == 0) {
        fn(arg, 0, n);
        return;
    }
    uint64_t chunks = (uint64_t)(pool->started + 1) * CHUNKS_PER_THREAD;
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    pool->chunks = (uint32_t)((uint64_t)n < chunks ? (uint64_t)n : chunks);
    pool->next = 0;
    pool->pending = pool->chunks;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    run_chunks(pool);
    while (pool->pending > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}
