/*
 * h2drive: the bench's load driver in C, on libnghttp2 (Debian libnghttp2-dev, the library
 * h2load is built on). It does what bench/driver.ts does, at a fraction of that driver's CPU per
 * request, so the scenarios whose requests rotate (cold tokens) or go to a unix socket push the
 * servers as hard as h2load does. bench/h2drive.ts builds it, turns DriverOptions into these
 * flags and reads one DriverResult as JSON from stdout:
 *
 *   h2drive (--tcp HOST:PORT | --unix PATH) --frames FILE [--repeat N] --connections N
 *           (--closed STREAMS_PER_CONNECTION | --open RATE_RPS --max-in-flight N)
 *           --warmup-ms MS --duration-ms MS [--total N] [--drain-ms MS]
 *           --expect allow|deny|deny:CODE
 *   h2drive --version
 *
 * One thread and one ppoll() loop over every connection. nghttp2 encodes into a buffer per
 * connection (nghttp2_session_mem_send), so a burst of requests costs one write(). The modes,
 * the measurement window, latency from the schedule, the drain and the check of every answer
 * follow driver.ts; its header says why each is what it is. Three things differ, each for a
 * reason given where it is done: the closed loop sends the next request on the connection that
 * answered (after_answer), the open loop sends each millisecond's requests on one connection
 * (run_open_loop), and the closed loop, too, gives up --drain-ms (default 3,000) after its
 * window, so a server that stops answering cannot hang the bench.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHECK_PATH "/envoy.service.auth.v3.Authorization/Check"
#define MAX_CONNECTIONS 64
#define MAX_ERROR_EXAMPLES 5
/* Distinct response sizes kept for responseFrameBytes; a run sees a handful. */
#define MAX_FRAME_SIZES 64
/* Encoded bytes gathered before a write(); one burst of 64 requests of ~1 KB fits. */
#define WRITE_BATCH_BYTES 65536
/* The open loop's pump runs at most this often (see run_open_loop). */
#define PUMP_TICK_MS 1.0
/* As h2load does by default: windows large enough that flow control never paces the run. */
#define WINDOW_BYTES ((1 << 30) - 1)

struct options {
	const char *host, *port, *unix_path, *frames_file;
	long repeat, connections, streams, max_in_flight, total;
	bool open_loop;
	double rate_rps, warmup_ms, duration_ms, drain_ms;
	bool expect_allow;
	long expect_code; /* -1: any non-zero code */
};

struct bytes {
	uint8_t *data;
	size_t len, cap;
};

struct samples {
	double *values;
	size_t len, cap;
};

struct connection {
	int fd;
	nghttp2_session *session;
	struct bytes out; /* encoded by nghttp2, not yet written */
	bool dead;
	bool going_away; /* the server sent GOAWAY: no new streams, answers still arrive */
};

/* One request in flight; slots are reused, so the body buffer is allocated once per slot. */
struct request {
	struct connection *connection;
	const uint8_t *frame;
	size_t frame_len, frame_sent;
	double scheduled_ms, origin_ms;
	bool measured, lost;
	int http_status;      /* 0 until :status arrives */
	char grpc_status[12]; /* as received, "" when absent */
	uint32_t reset_code;
	struct bytes body;
	struct request *next_free;
};

static struct {
	struct options options;
	const uint8_t **frames;
	size_t *frame_lens, frame_count;
	struct connection connections[MAX_CONNECTIONS];
	nghttp2_nv headers[6];
	char authority[300];
	struct request *slots, *free_slots;
	size_t slot_count;
	struct samples latencies, schedule_lags;
	struct {
		size_t bytes, count;
	} frame_sizes[MAX_FRAME_SIZES];
	size_t frame_size_count;
	char error_examples[MAX_ERROR_EXAMPLES][160];
	size_t error_example_count;
	unsigned long long next, sent, answered, answered_in_window, errors, in_flight, abandoned;
	double window_start_ms, window_end_ms;
	/* Open loop: requests due but held back by max_in_flight, by scheduled time. */
	struct samples backlog;
	size_t backlog_head;
	bool stopped; /* no connection left to send on: the closed loop ends */
} run;

static double now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
	       (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
}

static void die(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	fputs("h2drive: ", stderr);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
	va_end(args);
	exit(2);
}

static void *grow(void *data, size_t *cap, size_t needed, size_t item)
{
	if (needed <= *cap)
		return data;
	size_t cap_new = *cap == 0 ? 1024 : *cap;
	while (cap_new < needed)
		cap_new *= 2;
	data = realloc(data, cap_new * item);
	if (data == NULL)
		die("out of memory");
	*cap = cap_new;
	return data;
}

static void append_bytes(struct bytes *buffer, const uint8_t *data, size_t len)
{
	buffer->data = grow(buffer->data, &buffer->cap, buffer->len + len, 1);
	memcpy(buffer->data + buffer->len, data, len);
	buffer->len += len;
}

static void record(struct samples *samples, double value)
{
	samples->values =
	    grow(samples->values, &samples->cap, samples->len + 1, sizeof(double));
	samples->values[samples->len++] = value;
}

/* Counts a failure; keeps up to five distinct messages as examples, like driver.ts. */
static void fail(const char *format, ...)
{
	char problem[160];
	va_list args;
	va_start(args, format);
	vsnprintf(problem, sizeof problem, format, args);
	va_end(args);
	run.errors++;
	if (run.error_example_count == MAX_ERROR_EXAMPLES)
		return;
	for (size_t i = 0; i < run.error_example_count; i++)
		if (strcmp(run.error_examples[i], problem) == 0)
			return;
	strcpy(run.error_examples[run.error_example_count++], problem);
}

/* ---- Reading a CheckResponse: the same walk as readCheckVerdict in grpc-frame.ts ---- */

static bool read_varint(const uint8_t *bytes, size_t *offset, size_t end, uint64_t *value)
{
	*value = 0;
	for (int shift = 0; *offset < end && shift < 70; shift += 7) {
		uint8_t byte = bytes[(*offset)++];
		*value |= (uint64_t)(byte & 0x7f) << shift;
		if (byte < 0x80)
			return true;
	}
	return false;
}

/* Calls visit(field, payload start, payload end) for each field; false on malformed bytes. */
typedef bool (*field_visitor)(void *state, uint64_t field, size_t start, size_t end);

static bool walk_fields(const uint8_t *bytes, size_t start, size_t end, field_visitor visit,
			void *state)
{
	size_t offset = start;
	while (offset < end) {
		uint64_t tag, value;
		if (!read_varint(bytes, &offset, end, &tag))
			return false;
		size_t value_start = offset;
		switch (tag & 7) {
		case 0:
			if (!read_varint(bytes, &offset, end, &value))
				return false;
			break;
		case 1:
			offset += 8;
			break;
		case 2:
			if (!read_varint(bytes, &offset, end, &value) || value > end)
				return false;
			value_start = offset;
			offset += value;
			break;
		case 5:
			offset += 4;
			break;
		default:
			return false;
		}
		if (offset > end || !visit(state, tag >> 3, value_start, offset))
			return false;
	}
	return true;
}

struct verdict {
	const uint8_t *bytes;
	uint64_t code; /* google.rpc.Status.code; proto3 makes an absent one 0 */
	bool code_ok;
	const char *http_response;
};

static bool visit_status(void *state, uint64_t field, size_t start, size_t end)
{
	struct verdict *verdict = state;
	(void)end;
	if (field == 1) {
		size_t offset = start;
		verdict->code_ok = read_varint(verdict->bytes, &offset, end, &verdict->code);
	}
	return true;
}

static bool visit_response(void *state, uint64_t field, size_t start, size_t end)
{
	struct verdict *verdict = state;
	/* CheckResponse: 1 status, then the http_response oneof: 2 denied, 3 ok, 5 error. */
	if (field == 1)
		return walk_fields(verdict->bytes, start, end, visit_status, verdict);
	if (field == 2)
		verdict->http_response = "denied_response";
	else if (field == 3)
		verdict->http_response = "ok_response";
	else if (field == 5)
		verdict->http_response = "error_response";
	return true;
}

static void count_frame_size(size_t bytes)
{
	for (size_t i = 0; i < run.frame_size_count; i++) {
		if (run.frame_sizes[i].bytes == bytes) {
			run.frame_sizes[i].count++;
			return;
		}
	}
	if (run.frame_size_count < MAX_FRAME_SIZES) {
		run.frame_sizes[run.frame_size_count].bytes = bytes;
		run.frame_sizes[run.frame_size_count++].count = 1;
	}
}

/* The checks of driver.ts, in its order; reports the first problem. */
static void check_answer(struct request *request)
{
	const struct options *options = &run.options;
	const uint8_t *body = request->body.data;
	size_t len = request->body.len;

	if (request->lost) {
		fail("connection lost before the answer");
		return;
	}
	if (request->reset_code != NGHTTP2_NO_ERROR) {
		fail("stream reset with HTTP/2 code %u", request->reset_code);
		return;
	}
	if (request->http_status != 200) {
		fail("HTTP status %d", request->http_status);
		return;
	}
	if (strcmp(request->grpc_status, "0") != 0) {
		fail("grpc-status %s", request->grpc_status[0] ? request->grpc_status : "missing");
		return;
	}

	count_frame_size(len);
	struct verdict verdict = {body, 0, true, "none"};
	bool one_frame = len >= 5 && body[0] == 0 &&
			 ((uint32_t)body[1] << 24 | body[2] << 16 | body[3] << 8 | body[4]) ==
			     len - 5;
	if (!one_frame || !walk_fields(body, 5, len, visit_response, &verdict) ||
	    !verdict.code_ok) {
		fail("response is not one CheckResponse frame");
		return;
	}

	bool allowed = verdict.code == 0 && strcmp(verdict.http_response, "ok_response") == 0;
	if (options->expect_allow && !allowed) {
		fail("expected allow, got status.code %llu with %s",
		     (unsigned long long)verdict.code, verdict.http_response);
	} else if (!options->expect_allow) {
		if (verdict.code == 0 || strcmp(verdict.http_response, "denied_response") != 0)
			fail("expected deny, got status.code %llu with %s",
			     (unsigned long long)verdict.code, verdict.http_response);
		else if (options->expect_code >= 0 && verdict.code != (uint64_t)options->expect_code)
			fail("expected status.code %ld, got %llu", options->expect_code,
			     (unsigned long long)verdict.code);
	}
}

/* ---- Sending and answering ---- */

static void send_request(struct connection *connection, double scheduled_ms, double origin_ms);

/*
 * What an answer lets happen next. Closed loop: the next request, on the connection that
 * answered, as h2load does, so each connection keeps its streams busy and the requests an answer
 * batch frees leave in one write (spreading them over every connection would cost the server
 * more reads per request). Open loop: the backlog, on the next connection in turn.
 */
static void after_answer(struct connection *connection)
{
	const struct options *options = &run.options;
	if (!options->open_loop) {
		double now = now_ms();
		if (now < run.window_end_ms && run.sent < (unsigned long long)options->total)
			send_request(connection, now, now);
		return;
	}
	while (run.backlog_head < run.backlog.len &&
	       run.in_flight < (unsigned long long)options->max_in_flight) {
		double scheduled_ms = run.backlog.values[run.backlog_head++];
		send_request(NULL, scheduled_ms, scheduled_ms);
	}
}

static void release_slot(struct request *request)
{
	request->connection = NULL;
	request->next_free = run.free_slots;
	run.free_slots = request;
}

static void complete(struct request *request)
{
	struct connection *connection = request->connection;
	double done_ms = now_ms();
	run.in_flight--;
	if (request->measured)
		record(&run.latencies, done_ms - request->origin_ms);
	run.answered++;
	check_answer(request);
	if (done_ms >= run.window_start_ms && done_ms < run.window_end_ms)
		run.answered_in_window++;
	release_slot(request);
	after_answer(connection);
}

static ssize_t read_frame(nghttp2_session *session, int32_t stream_id, uint8_t *buffer,
			  size_t length, uint32_t *data_flags, nghttp2_data_source *source,
			  void *user_data)
{
	struct request *request = source->ptr;
	size_t left = request->frame_len - request->frame_sent;
	size_t n = left < length ? left : length;
	(void)session, (void)stream_id, (void)user_data;
	memcpy(buffer, request->frame + request->frame_sent, n);
	request->frame_sent += n;
	if (request->frame_sent == request->frame_len)
		*data_flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static struct connection *pick_connection(struct connection *preferred)
{
	if (preferred != NULL && !preferred->dead && !preferred->going_away)
		return preferred;
	long count = run.options.connections;
	for (long tried = 0; tried < count; tried++) {
		struct connection *connection = &run.connections[(run.sent + tried) % count];
		if (!connection->dead && !connection->going_away)
			return connection;
	}
	return NULL;
}

/*
 * Sends the next frame, on `preferred` if it is still up, else on the next connection in turn.
 * scheduled_ms decides whether it is in the window; its latency counts from origin_ms.
 */
static void send_request(struct connection *preferred, double scheduled_ms, double origin_ms)
{
	struct connection *connection = pick_connection(preferred);
	if (connection == NULL) {
		fail("no connection left to send on");
		run.stopped = true;
		return;
	}
	size_t index = (run.next / run.options.repeat) % run.frame_count;
	run.next++;
	run.sent++;
	run.in_flight++;

	struct request *request = run.free_slots;
	run.free_slots = request->next_free;
	request->connection = connection;
	request->frame = run.frames[index];
	request->frame_len = run.frame_lens[index];
	request->frame_sent = 0;
	request->scheduled_ms = scheduled_ms;
	request->origin_ms = origin_ms;
	request->measured = scheduled_ms >= run.window_start_ms && scheduled_ms < run.window_end_ms;
	request->lost = false;
	request->http_status = 0;
	request->grpc_status[0] = '\0';
	request->reset_code = NGHTTP2_NO_ERROR;
	request->body.len = 0;
	if (request->measured && run.options.open_loop)
		record(&run.schedule_lags, now_ms() - scheduled_ms);

	nghttp2_data_provider body = {.source.ptr = request, .read_callback = read_frame};
	int32_t stream_id =
	    nghttp2_submit_request(connection->session, NULL, run.headers, 6, &body, request);
	if (stream_id < 0) {
		run.in_flight--;
		fail("request: %s", nghttp2_strerror(stream_id));
		release_slot(request);
	}
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
		     size_t name_len, const uint8_t *value, size_t value_len, uint8_t flags,
		     void *user_data)
{
	(void)flags;
	if (frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	struct request *request = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	if (request == NULL || request->connection != user_data)
		return 0;
	if (name_len == 7 && memcmp(name, ":status", 7) == 0) {
		request->http_status = value_len == 3 ? atoi((const char *)value) : -1;
	} else if (name_len == 11 && memcmp(name, "grpc-status", 11) == 0) {
		/* In the trailers, or in the headers of a trailers-only answer: the last one wins. */
		size_t len = value_len < sizeof request->grpc_status - 1
				 ? value_len
				 : sizeof request->grpc_status - 1;
		memcpy(request->grpc_status, value, len);
		request->grpc_status[len] = '\0';
	}
	return 0;
}

static int on_data(nghttp2_session *session, uint8_t flags, int32_t stream_id,
		   const uint8_t *data, size_t len, void *user_data)
{
	(void)flags;
	struct request *request = nghttp2_session_get_stream_user_data(session, stream_id);
	if (request != NULL && request->connection == user_data)
		append_bytes(&request->body, data, len);
	return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
			   void *user_data)
{
	/* The slot may already serve another connection's stream if this one was dropped. */
	struct request *request = nghttp2_session_get_stream_user_data(session, stream_id);
	if (request != NULL && request->connection == user_data) {
		request->reset_code = error_code;
		complete(request);
	}
	return 0;
}

/* A server shutting down: a stream opened now would only be refused, so none is. */
static int on_frame(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
	struct connection *connection = user_data;
	(void)session;
	if (frame->hd.type == NGHTTP2_GOAWAY && !connection->going_away) {
		connection->going_away = true;
		fail("session: GOAWAY with HTTP/2 code %u", frame->goaway.error_code);
	}
	return 0;
}

/* ---- Connections ---- */

static int open_socket(void)
{
	const struct options *options = &run.options;
	int fd;
	if (options->unix_path != NULL) {
		struct sockaddr_un address = {.sun_family = AF_UNIX};
		if (strlen(options->unix_path) >= sizeof address.sun_path)
			die("unix socket path too long: %s", options->unix_path);
		strcpy(address.sun_path, options->unix_path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0)
			die("cannot connect to %s: %s", options->unix_path, strerror(errno));
	} else {
		struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
		struct addrinfo *found;
		int status = getaddrinfo(options->host, options->port, &hints, &found);
		if (status != 0)
			die("cannot resolve %s: %s", options->host, gai_strerror(status));
		fd = socket(found->ai_family, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, found->ai_addr, found->ai_addrlen) != 0)
			die("cannot connect to %s:%s: %s", options->host, options->port,
			    strerror(errno));
		freeaddrinfo(found);
		int on = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void open_connection(struct connection *connection)
{
	nghttp2_session_callbacks *callbacks;
	nghttp2_session_callbacks_new(&callbacks);
	nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame);

	connection->fd = open_socket();
	if (nghttp2_session_client_new(&connection->session, callbacks, connection) != 0)
		die("nghttp2_session_client_new failed");
	nghttp2_session_callbacks_del(callbacks);

	nghttp2_settings_entry settings[] = {
	    {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
	    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, WINDOW_BYTES},
	};
	nghttp2_submit_settings(connection->session, NGHTTP2_FLAG_NONE, settings, 2);
	nghttp2_session_set_local_window_size(connection->session, NGHTTP2_FLAG_NONE, 0,
					      WINDOW_BYTES);
}

/* Gives up on a connection: what was in flight on it counts as answered wrongly. */
static void drop_connection(struct connection *connection, const char *why)
{
	connection->dead = true;
	fail("session: %s", why);
	close(connection->fd);
	for (size_t i = 0; i < run.slot_count; i++) {
		if (run.slots[i].connection == connection) {
			run.slots[i].lost = true;
			complete(&run.slots[i]);
		}
	}
	nghttp2_session_del(connection->session);
}

/* Writes what nghttp2 has to send, gathering up to WRITE_BATCH_BYTES per write(). */
static void flush_connection(struct connection *connection)
{
	struct bytes *out = &connection->out;
	while (!connection->dead) {
		while (out->len < WRITE_BATCH_BYTES) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(connection->session, &data);
			if (n < 0) {
				drop_connection(connection, nghttp2_strerror((int)n));
				return;
			}
			if (n == 0)
				break;
			append_bytes(out, data, (size_t)n);
		}
		if (out->len == 0)
			return;
		ssize_t written = write(connection->fd, out->data, out->len);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				drop_connection(connection, strerror(errno));
			return; /* EAGAIN: ppoll() waits for POLLOUT */
		}
		memmove(out->data, out->data + written, out->len - (size_t)written);
		out->len -= (size_t)written;
		if (out->len > 0)
			return;
	}
}

static void read_connection(struct connection *connection)
{
	static uint8_t buffer[65536];
	for (;;) {
		ssize_t n = read(connection->fd, buffer, sizeof buffer);
		if (n == 0) {
			drop_connection(connection, "connection closed by the server");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				drop_connection(connection, strerror(errno));
			return;
		}
		ssize_t used = nghttp2_session_mem_recv(connection->session, buffer, (size_t)n);
		if (used < 0) {
			drop_connection(connection, nghttp2_strerror((int)used));
			return;
		}
		if ((size_t)n < sizeof buffer)
			return; /* drained; another read would only say EAGAIN */
	}
}

/* ---- The run ---- */

/* Waits for socket events until deadline_ms (never past it), then handles them. */
static void poll_connections(double deadline_ms)
{
	struct pollfd fds[MAX_CONNECTIONS];
	struct connection *owners[MAX_CONNECTIONS];
	nfds_t count = 0;
	for (long i = 0; i < run.options.connections; i++) {
		struct connection *connection = &run.connections[i];
		if (connection->dead)
			continue;
		flush_connection(connection);
		if (connection->dead)
			continue;
		fds[count].fd = connection->fd;
		fds[count].events = POLLIN | (connection->out.len > 0 ? POLLOUT : 0);
		owners[count++] = connection;
	}

	/* Bounded, so a deadline still unknown (INFINITY) is looked at again. */
	double wait_ms = deadline_ms - now_ms();
	if (wait_ms < 0)
		wait_ms = 0;
	if (wait_ms > 100)
		wait_ms = 100;
	struct timespec timeout = {(time_t)(wait_ms / 1e3),
				   (long)((wait_ms - (time_t)(wait_ms / 1e3) * 1e3) * 1e6)};
	if (ppoll(fds, count, &timeout, NULL) <= 0)
		return;
	for (nfds_t i = 0; i < count; i++) {
		if (fds[i].revents & (POLLIN | POLLERR | POLLHUP))
			read_connection(owners[i]);
		if ((fds[i].revents & POLLOUT) && !owners[i]->dead)
			flush_connection(owners[i]);
	}
}

/*
 * Requests still unanswered at the drain deadline: in flight, their latency so far; due but
 * never sent (open loop), the time since they were due. Both are lower bounds that keep an
 * overloaded server's percentiles honest.
 */
static void abandon(double now)
{
	for (size_t i = run.backlog_head; i < run.backlog.len; i++) {
		double scheduled_ms = run.backlog.values[i];
		if (scheduled_ms >= run.window_start_ms) {
			record(&run.latencies, now - scheduled_ms);
			run.abandoned++;
		}
	}
	for (size_t i = 0; i < run.slot_count; i++) {
		struct request *request = &run.slots[i];
		if (request->connection == NULL)
			continue;
		if (request->measured)
			record(&run.latencies, now - request->origin_ms);
		run.abandoned++;
	}
}

struct timing {
	double window_ms, cpu_in_window_ms;
};

static struct timing run_closed_loop(void)
{
	const struct options *options = &run.options;
	double start_ms = now_ms();
	/* With --total the whole run is the window, closed when the last answer arrives. */
	bool counted = options->total != LONG_MAX;
	run.window_start_ms = counted ? start_ms : start_ms + options->warmup_ms;
	run.window_end_ms = counted ? INFINITY : run.window_start_ms + options->duration_ms;
	double cpu_at_window_start = cpu_ms();
	bool cpu_started = counted;
	double drain_deadline_ms = counted ? INFINITY : run.window_end_ms + options->drain_ms;

	for (long i = 0; i < options->connections * options->streams; i++)
		send_request(&run.connections[i % options->connections], start_ms, start_ms);
	for (;;) {
		double now = now_ms();
		if (!cpu_started && now >= run.window_start_ms) {
			cpu_started = true;
			cpu_at_window_start = cpu_ms();
		}
		bool over = now >= run.window_end_ms || run.sent >= (unsigned long long)options->total ||
			    run.stopped;
		if (counted && over && drain_deadline_ms == INFINITY)
			drain_deadline_ms = now + options->drain_ms;
		if (over && run.in_flight == 0)
			break;
		if (now >= drain_deadline_ms) {
			abandon(now);
			break;
		}
		poll_connections(cpu_started ? drain_deadline_ms : run.window_start_ms);
	}

	double end_ms = now_ms();
	if (counted)
		run.window_end_ms = end_ms;
	double window_ms = (end_ms < run.window_end_ms ? end_ms : run.window_end_ms) -
			   run.window_start_ms;
	return (struct timing){window_ms, cpu_ms() - cpu_at_window_start};
}

/*
 * Open loop: a request falls due every 1/rate s. Each pass of the pump sends what fell due since
 * the last one, and the pump runs at most once per PUMP_TICK_MS, as driver.ts's timer does; the
 * requests of one pass leave together on one connection, the next pass's on the next. Sent one
 * by one, each at its own microsecond and on its own connection, they cost the server a read
 * and a write each (nearly twice the ceiling's CPU per request of h2load --rps, which batches
 * too), and the do-nothing ceiling fell behind at 75% of what it answers in closed loop.
 */
static struct timing run_open_loop(void)
{
	const struct options *options = &run.options;
	double interval_ms = 1e3 / options->rate_rps;
	double start_ms = now_ms() + 5;
	run.window_start_ms = start_ms + options->warmup_ms;
	run.window_end_ms = run.window_start_ms + options->duration_ms;
	double cpu_at_window_start = 0, cpu_in_window_ms = 0;
	bool cpu_started = false, scheduled_all = false;
	double next_pump_ms = start_ms, drain_deadline_ms = INFINITY;
	unsigned long long index = 0, pass = 0;

	for (;;) {
		double now = now_ms();
		if (!cpu_started && now >= run.window_start_ms) {
			cpu_started = true;
			cpu_at_window_start = cpu_ms();
		}
		if (!scheduled_all && now >= next_pump_ms) {
			struct connection *connection = &run.connections[pass++ % options->connections];
			/* A request that must wait for a free slot joins the backlog. */
			double due_ms;
			while ((due_ms = start_ms + index * interval_ms) <= now &&
			       due_ms < run.window_end_ms) {
				index++;
				if (run.in_flight < (unsigned long long)options->max_in_flight &&
				    run.backlog_head == run.backlog.len)
					send_request(connection, due_ms, now_ms());
				else
					record(&run.backlog, due_ms);
			}
			if (due_ms >= run.window_end_ms) {
				scheduled_all = true;
				cpu_in_window_ms = cpu_ms() - cpu_at_window_start;
				drain_deadline_ms = now + options->drain_ms;
			}
			next_pump_ms = due_ms > now + PUMP_TICK_MS ? due_ms : now + PUMP_TICK_MS;
		}
		if (scheduled_all && run.in_flight == 0 && run.backlog_head == run.backlog.len)
			break;
		if (now >= drain_deadline_ms) {
			abandon(now);
			break;
		}
		poll_connections(scheduled_all ? drain_deadline_ms : next_pump_ms);
	}
	return (struct timing){options->duration_ms, cpu_in_window_ms};
}

/* ---- Input and output ---- */

static void load_frames(const char *path)
{
	FILE *file = fopen(path, "rb");
	struct stat info;
	if (file == NULL || fstat(fileno(file), &info) != 0)
		die("cannot open %s: %s", path, strerror(errno));
	struct bytes data = {malloc(info.st_size + 1), (size_t)info.st_size, 0};
	if (data.data == NULL || fread(data.data, 1, data.len, file) != data.len)
		die("cannot read %s", path);
	fclose(file);

	/* Concatenated gRPC frames: a zero flag byte, a 4-byte big-endian length, the message. */
	size_t offset = 0, cap = 0, lens_cap = 0;
	while (offset + 5 <= data.len) {
		const uint8_t *p = data.data + offset;
		size_t len = 5 + ((size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4]);
		if (offset + len > data.len)
			die("%s: truncated gRPC frame at byte %zu", path, offset);
		run.frames = grow(run.frames, &cap, run.frame_count + 1, sizeof *run.frames);
		run.frame_lens =
		    grow(run.frame_lens, &lens_cap, run.frame_count + 1, sizeof *run.frame_lens);
		run.frames[run.frame_count] = p;
		run.frame_lens[run.frame_count++] = len;
		offset += len;
	}
	if (offset != data.len)
		die("%s: trailing bytes after the last gRPC frame", path);
	if (run.frame_count == 0)
		die("%s holds no frame", path);
}

static void print_number(const char *name, double value)
{
	/* JSON.stringify writes NaN (a summary of no samples) and infinities as null. */
	if (!isfinite(value))
		printf("\"%s\":null", name);
	else
		printf("\"%s\":%.17g", name, value);
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest rank, as latency-stats.ts: the ceil(q × n)-th smallest value, clamped to 1..n. */
static double at_quantile(const struct samples *sorted, double quantile)
{
	if (sorted->len == 0)
		return NAN;
	double exact = quantile * (double)sorted->len;
	size_t rank = (size_t)exact;
	if ((double)rank < exact)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > sorted->len)
		rank = sorted->len;
	return sorted->values[rank - 1];
}

static void print_result(struct timing timing)
{
	const struct options *options = &run.options;
	qsort(run.latencies.values, run.latencies.len, sizeof(double), compare_doubles);
	qsort(run.schedule_lags.values, run.schedule_lags.len, sizeof(double), compare_doubles);

	printf("{\"mode\":\"%s\",", options->open_loop ? "open" : "closed");
	if (options->open_loop) {
		print_number("offeredRps", options->rate_rps);
		putchar(',');
	}
	print_number("throughputRps", run.answered_in_window / timing.window_ms * 1e3);
	printf(",\"latency\":{\"samples\":%zu,", run.latencies.len);
	print_number("p50Ms", at_quantile(&run.latencies, 0.5));
	putchar(',');
	print_number("p99Ms", at_quantile(&run.latencies, 0.99));
	putchar(',');
	print_number("p999Ms", at_quantile(&run.latencies, 0.999));
	putchar(',');
	print_number("maxMs", at_quantile(&run.latencies, 1));
	printf("},\"sent\":%llu,\"answered\":%llu,\"unanswered\":%llu,\"errors\":%llu,", run.sent,
	       run.answered, run.abandoned, run.errors);
	printf("\"errorExamples\":[");
	for (size_t i = 0; i < run.error_example_count; i++) {
		printf("%s\"", i > 0 ? "," : "");
		for (const char *c = run.error_examples[i]; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				printf("\\%c", *c);
			else if ((unsigned char)*c < 0x20)
				printf("\\u%04x", *c);
			else
				putchar(*c);
		}
		putchar('"');
	}
	printf("],\"responseFrameBytes\":{");
	for (size_t i = 0; i < run.frame_size_count; i++)
		printf("%s\"%zu\":%zu", i > 0 ? "," : "", run.frame_sizes[i].bytes,
		       run.frame_sizes[i].count);
	printf("},");
	if (options->open_loop) {
		print_number("scheduleLagP99Ms", at_quantile(&run.schedule_lags, 0.99));
		putchar(',');
	}
	print_number("driverCpuCores", timing.cpu_in_window_ms / timing.window_ms);
	putchar(',');
	print_number("driverCpuTotalMs", cpu_ms());
	putchar(',');
	print_number("windowMs", timing.window_ms);
	printf("}\n");
}

static void usage(void)
{
	die("usage: h2drive (--tcp HOST:PORT | --unix PATH) --frames FILE [--repeat N]\n"
	    "  --connections N (--closed STREAMS | --open RATE_RPS --max-in-flight N)\n"
	    "  --warmup-ms MS --duration-ms MS [--total N] [--drain-ms MS]\n"
	    "  --expect allow|deny|deny:CODE");
}

static void parse_options(int argc, char **argv, struct options *options)
{
	static const struct option flags[] = {
	    {"tcp", required_argument, 0, 't'},         {"unix", required_argument, 0, 'u'},
	    {"frames", required_argument, 0, 'f'},      {"repeat", required_argument, 0, 'r'},
	    {"connections", required_argument, 0, 'c'}, {"closed", required_argument, 0, 's'},
	    {"open", required_argument, 0, 'o'},        {"max-in-flight", required_argument, 0, 'm'},
	    {"warmup-ms", required_argument, 0, 'w'},   {"duration-ms", required_argument, 0, 'd'},
	    {"total", required_argument, 0, 'n'},       {"drain-ms", required_argument, 0, 'D'},
	    {"expect", required_argument, 0, 'e'},      {"version", no_argument, 0, 'v'},
	    {0, 0, 0, 0},
	};
	*options = (struct options){.repeat = 1, .total = LONG_MAX, .drain_ms = 3000,
				    .expect_code = -1};
	bool have_expect = false, have_load = false;
	int flag;
	while ((flag = getopt_long(argc, argv, "", flags, NULL)) != -1) {
		switch (flag) {
		case 't': {
			/* HOST:PORT; brackets around an IPv6 host are dropped. */
			char *colon = strrchr(optarg, ':');
			if (colon == NULL)
				usage();
			*colon = '\0';
			options->port = colon + 1;
			options->host = optarg;
			if (optarg[0] == '[' && colon[-1] == ']') {
				colon[-1] = '\0';
				options->host = optarg + 1;
			}
			break;
		}
		case 'u': options->unix_path = optarg; break;
		case 'f': options->frames_file = optarg; break;
		case 'r': options->repeat = atol(optarg); break;
		case 'c': options->connections = atol(optarg); break;
		case 's': options->streams = atol(optarg), have_load = true; break;
		case 'o': options->rate_rps = atof(optarg), options->open_loop = have_load = true; break;
		case 'm': options->max_in_flight = atol(optarg); break;
		case 'w': options->warmup_ms = atof(optarg); break;
		case 'd': options->duration_ms = atof(optarg); break;
		case 'n': options->total = atol(optarg); break;
		case 'D': options->drain_ms = atof(optarg); break;
		case 'e':
			have_expect = true;
			options->expect_allow = strcmp(optarg, "allow") == 0;
			if (strncmp(optarg, "deny:", 5) == 0)
				options->expect_code = atol(optarg + 5);
			else if (!options->expect_allow && strcmp(optarg, "deny") != 0)
				usage();
			break;
		case 'v': printf("h2drive (libnghttp2 %s)\n", nghttp2_version(0)->version_str); exit(0);
		default: usage();
		}
	}
	bool one_target = (options->host != NULL) != (options->unix_path != NULL);
	if (!one_target || options->frames_file == NULL || !have_expect || !have_load ||
	    options->connections < 1 || options->connections > MAX_CONNECTIONS ||
	    options->repeat < 1 || options->total < 0 ||
	    (options->open_loop ? options->rate_rps <= 0 || options->max_in_flight < 1
				: options->streams < 1))
		usage();
}

int main(int argc, char **argv)
{
	struct options *options = &run.options;
	parse_options(argc, argv, options);
	load_frames(options->frames_file);
	signal(SIGPIPE, SIG_IGN);
	/* Wake-ups on schedule to the microsecond, not the default 50 µs of timer slack. */
	prctl(PR_SET_TIMERSLACK, 1UL);

	snprintf(run.authority, sizeof run.authority, "%s%s%s",
		 options->unix_path ? "localhost" : options->host, options->unix_path ? "" : ":",
		 options->unix_path ? "" : options->port);
	const char *pairs[6][2] = {
	    {":method", "POST"},
	    {":scheme", "http"},
	    {":authority", run.authority},
	    {":path", CHECK_PATH},
	    {"content-type", "application/grpc"},
	    {"te", "trailers"},
	};
	for (int i = 0; i < 6; i++) {
		run.headers[i] = (nghttp2_nv){
		    (uint8_t *)pairs[i][0], (uint8_t *)pairs[i][1], strlen(pairs[i][0]),
		    strlen(pairs[i][1]), NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
	}

	run.slot_count =
	    options->open_loop ? options->max_in_flight : options->connections * options->streams;
	run.slots = calloc(run.slot_count, sizeof *run.slots);
	if (run.slots == NULL)
		die("out of memory");
	for (size_t i = run.slot_count; i-- > 0;)
		release_slot(&run.slots[i]);
	for (long i = 0; i < options->connections; i++)
		open_connection(&run.connections[i]);

	struct timing timing = options->open_loop ? run_open_loop() : run_closed_loop();
	print_result(timing);
	return 0;
}
