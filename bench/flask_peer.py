"""The Python peer of the serving benchmark: the original's Flask app shape, served by CherryPy,
with the model's centroids loaded once at start (the original loaded a Spark model per request).

Usage: flask_peer.py MODEL_JSON PORT
"""
import json, sys

import cherrypy
from flask import Flask, jsonify, request

doc = json.load(open(sys.argv[1]))
centroids = doc["model_centroids"]
app = Flask(__name__)


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.post("/predict/<model>")
def predict(model):
    body = request.get_json()
    x = [float(body.get("rating", body.get("review_rating"))),
         float(body.get("likes", body.get("review_likes"))),
         float(body.get("length", body.get("review_length")))]
    best = min(range(len(centroids)), key=lambda c: sum((a - b) ** 2 for a, b in zip(centroids[c], x)))
    return jsonify(prediction=best)


cherrypy.tree.graft(app, "/")
cherrypy.config.update({"server.socket_host": "127.0.0.1", "server.socket_port": int(sys.argv[2]),
                        "engine.autoreload.on": False, "log.screen": False, "server.thread_pool": 30})
cherrypy.engine.start()
cherrypy.engine.block()
