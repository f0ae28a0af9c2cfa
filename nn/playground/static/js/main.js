// The playground page: the playground over a WebSocket to the server that serves the page.
import { start, websocket } from "./app.js";

start(websocket());
