/* SPDX-License-Identifier: MIT */
/*
 * A gate for the tests with a device's own threads: a callback that runs
 * on a device thread (the IOMMU's fault_pending, a violation callback)
 * calls thread_gate_hold(), and while the gate is armed that thread stays
 * there, inside whatever request it was serving, until the test opens
 * the gate.  One gate per test program.
 */
#ifndef TESTS_UNIT_THREAD_GATE_H
#define TESTS_UNIT_THREAD_GATE_H

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool armed;
	int held;     /* threads that arrived while armed */
} thread_gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0 };

static inline void thread_gate_hold(void)
{
	pthread_mutex_lock(&thread_gate.lock);
	if (thread_gate.armed) {
		thread_gate.held++;
		pthread_cond_broadcast(&thread_gate.cond);
		while (thread_gate.armed)
			pthread_cond_wait(&thread_gate.cond, &thread_gate.lock);
	}
	pthread_mutex_unlock(&thread_gate.lock);
}

static inline void thread_gate_arm(void)
{
	pthread_mutex_lock(&thread_gate.lock);
	thread_gate.armed = true;
	thread_gate.held = 0;
	pthread_mutex_unlock(&thread_gate.lock);
}

/* Every held thread goes on. */
static inline void thread_gate_open(void)
{
	pthread_mutex_lock(&thread_gate.lock);
	thread_gate.armed = false;
	pthread_cond_broadcast(&thread_gate.cond);
	pthread_mutex_unlock(&thread_gate.lock);
}

/* Whether `want` threads are held within wait_ms (a hang guard, never a
 * timing assertion). */
static inline bool thread_gate_wait_held(int want, unsigned int wait_ms)
{
	bool met = false;

	for (unsigned int ms = 0; ms < wait_ms && !met; ms++) {
		pthread_mutex_lock(&thread_gate.lock);
		met = thread_gate.held >= want;
		pthread_mutex_unlock(&thread_gate.lock);
		if (!met)
			usleep(1000);
	}
	return met;
}

#endif
