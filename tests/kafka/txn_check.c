/* txn_check.c: exactly-once plumbing of the system librdkafka against a REAL broker.
 *
 * Built and run by check.sh:  cc -O1 -o txn_check txn_check.c $(pkg-config --cflags --libs rdkafka)
 * Usage: txn_check BOOTSTRAP [PREFIX]
 *
 * Consume-transform-produce as the live mode will do it:
 *   1. admin: create PREFIX-in (1 partition) and PREFIX-out (2 partitions)
 *   2. produce in-0..in-9 (idempotent producer)
 *   3. consumer C1 in group PREFIX-g (range assignor, read_committed, no auto commit) reads them
 *   4. transactional producer P1: txn A = 6 records + send_offsets_to_transaction(in:0 -> 5), commit
 *                                 txn B = 4 records + send_offsets_to_transaction(in:0 -> 10), abort
 *   5. committed offset of the group is 5 (txn A stored, txn B not)
 *   6. a new group member C2 resumes at in-5
 *   7. read_committed sees exactly txn A's records; read_uncommitted also sees txn B's;
 *      while txn C is open, read_committed stops before it (last stable offset); then C commits
 *   8. fencing: P2 with the same transactional.id; P1's next transaction fails fatally;
 *      P2's transaction commits and is visible, P1's is not.
 *   9. crash recovery: a child process (P3) is SIGKILLed with a transaction open; P4 with the
 *      same transactional.id aborts it in init_transactions; read_committed shows P4's record,
 *      never P3's.
 * Prints one "ok"/"FAIL" line per check and "N passed, M failed"; exit 0 only if all pass.
 * Every wait is bounded; alarm() kills the whole program after 150 s.
 */
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;
static const char *bootstrap;
static char topic_in[128], topic_out[128], group[128], txn_id[128];

static double now(void);
static double t_start;

static void check(int cond, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%s - [%5.1fs] ", cond ? "ok" : "FAIL", now() - t_start);
  vprintf(fmt, ap);
  printf("\n");
  fflush(stdout);
  va_end(ap);
  if (cond) passed++; else failed++;
}

static void die(const char *what, const char *detail) {
  printf("FAIL - %s: %s\n", what, detail ? detail : "");
  printf("%d passed, %d failed\n", passed, failed + 1);
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v) {
  char errstr[512];
  if (rd_kafka_conf_set(c, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) die(k, errstr);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)opaque;
  fprintf(stderr, "# %s error_cb: %s: %s\n", rd_kafka_name(rk), rd_kafka_err2name(err), reason);
}

static int delivery_failures;
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk; (void)opaque;
  if (m->err) {
    delivery_failures++;
    fprintf(stderr, "# delivery failed: %s\n", rd_kafka_err2str(m->err));
  }
}

static rd_kafka_conf_t *conf_new(void) {
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  set(c, "bootstrap.servers", bootstrap);
  rd_kafka_conf_set_error_cb(c, error_cb);
  return c;
}

static rd_kafka_t *new_handle(rd_kafka_type_t type, rd_kafka_conf_t *c) {
  char errstr[512];
  rd_kafka_t *rk = rd_kafka_new(type, c, errstr, sizeof errstr);
  if (!rk) die("rd_kafka_new", errstr);
  return rk;
}

static rd_kafka_t *new_producer(const char *transactional_id) {
  rd_kafka_conf_t *c = conf_new();
  set(c, "enable.idempotence", "true");
  set(c, "linger.ms", "5");
  if (transactional_id) {
    set(c, "transactional.id", transactional_id);
    set(c, "transaction.timeout.ms", "30000");
  }
  rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
  return new_handle(RD_KAFKA_PRODUCER, c);
}

static rd_kafka_t *new_consumer(const char *grp, const char *isolation) {
  rd_kafka_conf_t *c = conf_new();
  set(c, "group.id", grp);
  set(c, "isolation.level", isolation);
  set(c, "enable.auto.commit", "false");
  set(c, "auto.offset.reset", "earliest");
  set(c, "enable.partition.eof", "true");
  set(c, "partition.assignment.strategy", "range"); /* not cooperative-sticky with 2.0.2 */
  set(c, "session.timeout.ms", "10000");
  rd_kafka_t *rk = new_handle(RD_KAFKA_CONSUMER, c);
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

/* Returns NULL on success, else a static description. Frees err. */
static const char *txn_err(rd_kafka_error_t *err, int *fatal) {
  static char buf[512];
  if (fatal) *fatal = 0;
  if (!err) return NULL;
  snprintf(buf, sizeof buf, "%s: %s%s%s", rd_kafka_error_name(err), rd_kafka_error_string(err),
           rd_kafka_error_is_fatal(err) ? " [fatal]" : "",
           rd_kafka_error_txn_requires_abort(err) ? " [requires abort]" : "");
  if (fatal) *fatal = rd_kafka_error_is_fatal(err);
  rd_kafka_error_destroy(err);
  return buf;
}

static rd_kafka_resp_err_t produce_soft(rd_kafka_t *p, const char *topic, int partition,
                                        const char *value) {
  return rd_kafka_producev(
      p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_VALUE((void *)value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_END);
}

static void produce(rd_kafka_t *p, const char *topic, int partition, const char *value) {
  rd_kafka_resp_err_t e = produce_soft(p, topic, partition, value);
  if (e) die("producev", rd_kafka_err2str(e));
}

static void create_topics(void) {
  rd_kafka_t *rk = new_producer(NULL);
  char errstr[512];
  rd_kafka_NewTopic_t *nt[2];
  nt[0] = rd_kafka_NewTopic_new(topic_in, 1, 1, errstr, sizeof errstr);
  nt[1] = rd_kafka_NewTopic_new(topic_out, 2, 1, errstr, sizeof errstr);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, nt, 2, NULL, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
  int good = 0;
  if (ev && !rd_kafka_event_error(ev)) {
    size_t n;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    good = (n == 2);
    for (size_t i = 0; i < n; i++)
      if (rd_kafka_topic_result_error(res[i])) {
        good = 0;
        fprintf(stderr, "# CreateTopics %s: %s\n", rd_kafka_topic_result_name(res[i]),
                rd_kafka_topic_result_error_string(res[i]));
      }
  }
  check(good, "admin CreateTopics %s (1 partition) and %s (2 partitions)", topic_in, topic_out);
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_NewTopic_destroy_array(nt, 2);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
}

/* Polls until `want` messages were read (0 = any) and every assigned partition hit EOF after
 * that, or until timeout. Copies values into out[] (up to max). Returns number read. */
static int consume(rd_kafka_t *c, int want, int npart, double timeout, char out[][32], int max,
                   int64_t *first_offset) {
  int n = 0, eof[8] = {0};
  double end = now() + timeout;
  while (now() < end) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
    if (!m) continue;
    int part = m->partition >= 0 && m->partition < 8 ? m->partition : 7;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      eof[part] = 1;
    } else if (m->err) {
      fprintf(stderr, "# consume error: %s\n", rd_kafka_message_errstr(m));
    } else {
      if (n == 0 && first_offset) *first_offset = m->offset;
      if (n < max) snprintf(out[n], 32, "%.*s", (int)m->len, (const char *)m->payload);
      n++;
      eof[part] = 0; /* need a fresh EOF after the latest message of this partition */
    }
    rd_kafka_message_destroy(m);
    int eofs = 0;
    for (int i = 0; i < 8; i++) eofs += eof[i];
    if ((want == 0 || n >= want) && eofs >= npart) break;
  }
  return n;
}

/* Reads PREFIX-out from the beginning with a fresh assign()-only consumer. */
static int read_out(const char *isolation, int want, char vals[][32], int max) {
  char grp[160];
  snprintf(grp, sizeof grp, "%s-reader-%s-%d", group, isolation, rand());
  rd_kafka_t *c = new_consumer(grp, isolation);
  rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(2);
  rd_kafka_topic_partition_list_add(tp, topic_out, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_topic_partition_list_add(tp, topic_out, 1)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(c, tp);
  rd_kafka_topic_partition_list_destroy(tp);
  int n = consume(c, want, 2, 20, vals, max, NULL);
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return n;
}

static int count_prefix(char vals[][32], int n, const char *prefix) {
  int k = 0;
  for (int i = 0; i < n && i < 64; i++)
    if (strncmp(vals[i], prefix, strlen(prefix)) == 0) k++;
  return k;
}

static int64_t committed_offset(rd_kafka_t *c) {
  rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(tp, topic_in, 0);
  int64_t off = -1000;
  if (rd_kafka_committed(c, tp, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && !tp->elems[0].err)
    off = tp->elems[0].offset;
  rd_kafka_topic_partition_list_destroy(tp);
  return off;
}

/* Child mode (txn_check --crash-child BOOTSTRAP TOPIC TXNID): open a transaction, write 2
 * records, say "ready" on stdout and wait to be killed. */
static int crash_child_main(char **argv) {
  alarm(60);
  bootstrap = argv[2];
  rd_kafka_t *p = new_producer(argv[4]);
  const char *e = txn_err(rd_kafka_init_transactions(p, 30000), NULL);
  if (!e) e = txn_err(rd_kafka_begin_transaction(p), NULL);
  if (e) { fprintf(stderr, "# crash child: %s\n", e); return 1; }
  produce(p, argv[3], 0, "crashed-0");
  produce(p, argv[3], 1, "crashed-1");
  if (rd_kafka_flush(p, 20000)) { fprintf(stderr, "# crash child: flush timed out\n"); return 1; }
  printf("ready\n");
  fflush(stdout);
  for (;;) pause();
}

/* Runs this program in crash-child mode and SIGKILLs it once its records are written. */
static int crash_child(const char *self, const char *tid) {
  int fds[2];
  if (pipe(fds)) return 0;
  pid_t pid = fork();
  if (pid < 0) return 0;
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl("/proc/self/exe", self, "--crash-child", bootstrap, topic_out, tid, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  char buf[16] = "";
  struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
  int ready = poll(&pfd, 1, 40000) == 1 && read(fds[0], buf, sizeof buf - 1) > 0 &&
              strncmp(buf, "ready", 5) == 0;
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(fds[0]);
  return ready;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "--crash-child") == 0) return crash_child_main(argv);
  if (argc < 2) {
    fprintf(stderr, "usage: %s BOOTSTRAP [PREFIX]\n", argv[0]);
    return 2;
  }
  alarm(150);
  setvbuf(stdout, NULL, _IOLBF, 0);
  bootstrap = argv[1];
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  char prefix[64];
  if (argc > 2) snprintf(prefix, sizeof prefix, "%s", argv[2]);
  else snprintf(prefix, sizeof prefix, "txncheck-%d", rand() % 100000);
  snprintf(topic_in, sizeof topic_in, "%s-in", prefix);
  snprintf(topic_out, sizeof topic_out, "%s-out", prefix);
  snprintf(group, sizeof group, "%s-g", prefix);
  snprintf(txn_id, sizeof txn_id, "%s-tx", prefix);
  printf("# librdkafka %s, bootstrap %s, prefix %s\n", rd_kafka_version_str(), bootstrap, prefix);
  double t0 = t_start = now();
  char vals[64][32];
  const char *e;
  int fatal;

  create_topics();

  /* 2. input */
  rd_kafka_t *plain = new_producer(NULL);
  for (int i = 0; i < 10; i++) {
    char v[32];
    snprintf(v, sizeof v, "in-%d", i);
    produce(plain, topic_in, 0, v);
  }
  rd_kafka_resp_err_t fe = rd_kafka_flush(plain, 20000);
  check(!fe && !delivery_failures, "idempotent produce of 10 input records (%s)", rd_kafka_err2name(fe));
  rd_kafka_destroy(plain);

  /* 3. group consume */
  rd_kafka_t *c1 = new_consumer(group, "read_committed");
  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic_in, RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(c1, sub);
  double tj = now();
  int n = consume(c1, 10, 1, 30, vals, 64, NULL);
  check(n == 10, "group consumer (subscribe, range assignor) read %d/10 input records in %.1fs", n,
        now() - tj);

  /* 4. transactions */
  rd_kafka_t *p1 = new_producer(txn_id);
  double ti = now();
  e = txn_err(rd_kafka_init_transactions(p1, 30000), NULL);
  check(!e, "init_transactions (%.1fs) %s", now() - ti, e ? e : "");
  if (e) die("cannot continue without transactions", e);

  rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(c1);
  /* txn A: commit */
  e = txn_err(rd_kafka_begin_transaction(p1), NULL);
  check(!e, "begin_transaction A %s", e ? e : "");
  for (int i = 0; i < 6; i++) {
    char v[32];
    snprintf(v, sizeof v, "commit-%d", i);
    produce(p1, topic_out, i % 2, v);
  }
  rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(offs, topic_in, 0)->offset = 5;
  e = txn_err(rd_kafka_send_offsets_to_transaction(p1, offs, cgmd, 30000), NULL);
  check(!e, "send_offsets_to_transaction A (in:0 -> 5) %s", e ? e : "");
  rd_kafka_topic_partition_list_destroy(offs);
  e = txn_err(rd_kafka_commit_transaction(p1, 30000), NULL);
  check(!e, "commit_transaction A %s", e ? e : "");

  /* txn B: abort (flush first so the records really reach the log) */
  e = txn_err(rd_kafka_begin_transaction(p1), NULL);
  check(!e, "begin_transaction B %s", e ? e : "");
  for (int i = 0; i < 4; i++) {
    char v[32];
    snprintf(v, sizeof v, "abort-%d", i);
    produce(p1, topic_out, i % 2, v);
  }
  rd_kafka_flush(p1, 20000);
  offs = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(offs, topic_in, 0)->offset = 10;
  e = txn_err(rd_kafka_send_offsets_to_transaction(p1, offs, cgmd, 30000), NULL);
  check(!e, "send_offsets_to_transaction B (in:0 -> 10) %s", e ? e : "");
  rd_kafka_topic_partition_list_destroy(offs);
  e = txn_err(rd_kafka_abort_transaction(p1, 30000), NULL);
  check(!e, "abort_transaction B %s", e ? e : "");
  rd_kafka_consumer_group_metadata_destroy(cgmd);

  /* 5. committed offset (OffsetFetch may return UNSTABLE_OFFSET_COMMIT until the markers land) */
  int64_t off = -1000;
  for (double end = now() + 10; now() < end; usleep(200000))
    if ((off = committed_offset(c1)) == 5) break;
  check(off == 5, "group %s committed offset for %s:0 is %lld (want 5: txn A stored, aborted txn B not)",
        group, topic_in, (long long)off);
  rd_kafka_consumer_close(c1);
  rd_kafka_destroy(c1);

  /* 6. a new member resumes from the transactional commit */
  rd_kafka_t *c2 = new_consumer(group, "read_committed");
  rd_kafka_subscribe(c2, sub);
  int64_t first = -1;
  n = consume(c2, 5, 1, 30, vals, 64, &first);
  check(n == 5 && first == 5 && strcmp(vals[0], "in-5") == 0,
        "new group member resumed at offset %lld (%s), read %d records (want 5, in-5, 5)",
        (long long)first, n > 0 ? vals[0] : "-", n);
  rd_kafka_consumer_close(c2);
  rd_kafka_destroy(c2);
  rd_kafka_topic_partition_list_destroy(sub);

  /* 7. isolation levels */
  n = read_out("read_committed", 6, vals, 64);
  check(n == 6 && count_prefix(vals, n, "commit-") == 6,
        "read_committed sees %d records, %d committed, %d aborted (want 6/6/0)", n,
        count_prefix(vals, n, "commit-"), count_prefix(vals, n, "abort-"));
  n = read_out("read_uncommitted", 10, vals, 64);
  check(n == 10 && count_prefix(vals, n, "abort-") == 4,
        "read_uncommitted sees %d records incl. %d aborted (want 10 incl. 4)", n,
        count_prefix(vals, n, "abort-"));

  /* 7b. an open transaction holds read_committed readers at the last stable offset */
  e = txn_err(rd_kafka_begin_transaction(p1), NULL);
  check(!e, "begin_transaction C %s", e ? e : "");
  produce(p1, topic_out, 0, "open-0");
  produce(p1, topic_out, 1, "open-1");
  rd_kafka_flush(p1, 20000);
  n = read_out("read_committed", 6, vals, 64);
  check(n == 6 && count_prefix(vals, n, "open-") == 0,
        "while txn C is open, read_committed sees %d records, %d of txn C (want 6, 0)", n,
        count_prefix(vals, n, "open-"));
  n = read_out("read_uncommitted", 12, vals, 64);
  check(n == 12 && count_prefix(vals, n, "open-") == 2,
        "while txn C is open, read_uncommitted sees %d records, %d of txn C (want 12, 2)", n,
        count_prefix(vals, n, "open-"));
  e = txn_err(rd_kafka_commit_transaction(p1, 30000), NULL);
  check(!e, "commit_transaction C %s", e ? e : "");
  n = read_out("read_committed", 8, vals, 64);
  check(n == 8 && count_prefix(vals, n, "open-") == 2,
        "after commit of txn C, read_committed sees %d records, %d of txn C (want 8, 2)", n,
        count_prefix(vals, n, "open-"));

  /* 8. fencing */
  rd_kafka_t *p2 = new_producer(txn_id);
  e = txn_err(rd_kafka_init_transactions(p2, 30000), NULL);
  check(!e, "second producer with the same transactional.id: init_transactions %s", e ? e : "");
  e = txn_err(rd_kafka_begin_transaction(p1), NULL);
  if (!e) {
    rd_kafka_resp_err_t pe = produce_soft(p1, topic_out, 0, "zombie-0");
    if (pe) fprintf(stderr, "# zombie producev: %s\n", rd_kafka_err2name(pe));
    e = txn_err(rd_kafka_commit_transaction(p1, 30000), &fatal);
  } else {
    fatal = 1;
  }
  char fatal_str[512] = "";
  rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(p1, fatal_str, sizeof fatal_str);
  check(e && fatal, "zombie producer is fenced: commit fails fatally (%s; fatal_error=%s %s)",
        e ? e : "no error!", rd_kafka_err2name(ferr), fatal_str);
  e = txn_err(rd_kafka_begin_transaction(p2), NULL);
  if (!e) {
    produce(p2, topic_out, 1, "commit-p2");
    e = txn_err(rd_kafka_commit_transaction(p2, 30000), NULL);
  }
  check(!e, "new producer commits after fencing %s", e ? e : "");
  n = read_out("read_committed", 9, vals, 64);
  check(n == 9 && count_prefix(vals, n, "commit-p2") == 1 && count_prefix(vals, n, "zombie") == 0 &&
            count_prefix(vals, n, "abort-") == 0,
        "read_committed after fencing sees %d records, %d from the new producer, %d zombie, "
        "%d aborted (want 9, 1, 0, 0)", n, count_prefix(vals, n, "commit-p2"),
        count_prefix(vals, n, "zombie"), count_prefix(vals, n, "abort-"));
  rd_kafka_destroy(p1);
  rd_kafka_destroy(p2);

  /* 9. crash recovery: a producer dies with its transaction open; a successor with the same
   *    transactional.id aborts it in init_transactions, and only the successor's data shows. */
  char txn_id2[160];
  snprintf(txn_id2, sizeof txn_id2, "%s-crash", txn_id);
  int crashed = crash_child(argv[0], txn_id2);
  check(crashed, "child process wrote 2 records in an open transaction and was SIGKILLed");
  rd_kafka_t *p4 = new_producer(txn_id2);
  ti = now();
  e = txn_err(rd_kafka_init_transactions(p4, 30000), NULL);
  check(!e, "successor init_transactions with the crashed producer's transactional.id (%.1fs) %s",
        now() - ti, e ? e : "");
  if (!e) e = txn_err(rd_kafka_begin_transaction(p4), NULL);
  if (!e) {
    produce(p4, topic_out, 1, "recovered-0");
    e = txn_err(rd_kafka_commit_transaction(p4, 30000), NULL);
  }
  check(!e, "successor commits %s", e ? e : "");
  rd_kafka_destroy(p4);
  n = read_out("read_committed", 10, vals, 64);
  check(n == 10 && count_prefix(vals, n, "recovered-") == 1 && count_prefix(vals, n, "crashed-") == 0,
        "read_committed after crash recovery sees %d records, %d recovered, %d crashed (want 10, 1, 0)",
        n, count_prefix(vals, n, "recovered-"), count_prefix(vals, n, "crashed-"));
  n = read_out("read_uncommitted", 16, vals, 64);
  check(n == 16 && count_prefix(vals, n, "crashed-") == 2,
        "read_uncommitted sees %d records incl. %d of the crashed transaction (want 16 incl. 2)", n,
        count_prefix(vals, n, "crashed-"));

  printf("# txn_check took %.1fs\n", now() - t0);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
