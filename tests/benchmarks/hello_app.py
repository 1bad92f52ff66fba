"""The polling benchmark's baseline: a bare Flask app, served like the real one."""

from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello():
    return "hello"
